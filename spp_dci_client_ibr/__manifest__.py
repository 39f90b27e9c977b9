{
    "name": "DCI Client: IBR",
    "summary": "Check duplicate enrolments against an integrated beneficiary registry over DCI",
    "version": "19.0.1.0.0",
    "category": "OpenSPP/Integration",
    "license": "LGPL-3",
    "author": "OpenSPP DCI Client contributors",
    "website": "https://github.com/openspp/openspp-dci-client",
    "development_status": "Beta",
    "maintainers": ["openspp"],
    "depends": ["spp_dci_client"],
    "data": [
        "security/ir.model.access.csv",
        "views/ibr_views.xml",
    ],
}
