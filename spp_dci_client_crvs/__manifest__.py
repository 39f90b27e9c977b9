{
    "name": "DCI Client: CRVS",
    "summary": "Verify births and deaths against a civil registry (CRVS) over DCI",
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
        "data/ir_cron.xml",
        "views/crvs_views.xml",
    ],
}
