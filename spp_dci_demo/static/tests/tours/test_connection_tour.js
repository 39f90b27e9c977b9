import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_test_connection", {
    url: "/odoo/action-spp_dci_client.spp_dci_data_source_action",
    steps: () => [
        {
            content: "Open the simulated CRVS data source",
            trigger: ".o_data_row td:contains(crvs_main)",
            run: "click",
        },
        {
            content: "Test the connection",
            trigger: "button[name=test_connection]",
            run: "click",
        },
        {
            content: "The notification lists the steps and says it works",
            trigger: ".o_notification:contains(works):contains(Response signature: valid)",
        },
    ],
});
