import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_data_source_french", {
    url: "/odoo/action-spp_dci_client.spp_dci_data_source_action",
    steps: () => [
        {
            content: "The list is titled in French",
            trigger: ".o_breadcrumb:contains(Sources de données)",
        },
        {
            content: "Open the simulated registry's data source",
            trigger: ".o_data_row td:contains(État civil simulé)",
            run: "click",
        },
        {
            content: "The form's labels and tabs are in French",
            trigger: ".o_form_view .o_form_label:contains(URL de base)",
        },
        {
            trigger: ".o_form_view .o_notebook a.nav-link:contains(Authentification)",
        },
        {
            content: "Test the connection with the French button",
            trigger: "button[name=test_connection]:contains(Tester la connexion)",
            run: "click",
        },
        {
            content: "The notification's title and steps are in French",
            trigger: ".o_notification:contains(fonctionne):contains(Signature de la réponse : valide)",
        },
    ],
});
