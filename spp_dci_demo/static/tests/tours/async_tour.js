import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_demo_async", {
    url: "/odoo/child-benefit",
    steps: () => [
        {
            content: "Open Maria's enrollment request",
            trigger: ".o_data_row td:contains(Maria Santos)",
            run: "click",
        },
        {
            content: "Ask the civil registry in async mode",
            trigger: "button[name=action_verify_birth_async]",
            run: "click",
        },
        {
            content: "The form says it is waiting, and that the answer will come by itself",
            trigger: ".o_dci_async_waiting:contains(appears here by itself)",
        },
        {
            content: "The registry's callback arrives: the result shows without Refresh",
            trigger: ".o_field_widget[name=birth_outcome] .badge:contains(Verified)",
            timeout: 20000,
        },
        {
            content: "With its comparison, formatted like the fields",
            trigger: ".o_dci_comparison td:contains('Mar 15, 2024') ~ td:contains('Mar 15, 2024')",
        },
        {
            content: "Sex by its label",
            trigger: ".o_dci_comparison td:contains(Female)",
        },
        {
            content: "The waiting note is gone",
            trigger: ".o_form_view:not(:has(.o_dci_async_waiting))",
        },
    ],
});
