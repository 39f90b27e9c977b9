{
    "name": "DCI Client: Child Benefit Demo",
    "summary": "Child-benefit enrollment that verifies births, other enrolments and disability over DCI, "
    "with built-in simulated registries",
    "version": "19.0.1.0.0",
    "category": "OpenSPP/Integration",
    "license": "LGPL-3",
    "author": "OpenSPP DCI Client contributors",
    "website": "https://github.com/openspp/openspp-dci-client",
    "development_status": "Alpha",
    "maintainers": ["openspp"],
    "depends": ["mail", "spp_dci_client_crvs", "spp_dci_client_ibr", "spp_dci_client_dr"],
    "external_dependencies": {"python": ["dci_simulator"]},
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "views/enrollment_views.xml",
        "views/bulk_verify_views.xml",
        "views/reject_views.xml",
        "data/setup.xml",
        "data/registrants.xml",
    ],
    "assets": {
        "web.assets_backend": ["spp_dci_demo/static/src/async_outcome/*.js"],
        "web.assets_tests": ["spp_dci_demo/static/tests/tours/*.js"],
    },
    "application": True,
}
