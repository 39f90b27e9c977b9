import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_demo_reject", {
    url: "/odoo/child-benefit",
    steps: () => [
        {
            content: "Open Juan's enrollment request",
            trigger: ".o_data_row td:contains(Juan Reyes)",
            run: "click",
        },
        {
            content: "The child is shown by name, without the household before it",
            trigger: ".o_field_widget[name=child_id] input:value(Juan Reyes)",
        },
        {
            content: "Run the registry checks",
            trigger: "button[name=action_run_checks]",
            run: "click",
        },
        {
            content: "The declared birth does not match the civil registry's",
            trigger: ".o_field_widget[name=birth_outcome] .badge:contains(Does not match)",
        },
        {
            content: "The dates are compared in the user's format",
            trigger: ".o_dci_comparison tr.table-danger td:contains('Dec 2, 2023')",
        },
        {
            content: "Reject",
            trigger: "button[name=action_reject]",
            run: "click",
        },
        {
            content: "The dialog asks why",
            trigger: ".modal textarea",
            run: "edit The declared date of birth is not the registered one.",
        },
        {
            content: "Confirm the rejection",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The request is rejected",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Rejected)",
        },
        {
            content: "The status bar does not put Rejected after Approved",
            trigger: ".o_statusbar_status:not(:has(button:contains(Approved)))",
        },
        {
            content: "The reason is on the request",
            trigger: ".o_dci_reject_reason:contains(The declared date of birth is not the registered one.)",
        },
        {
            content: "And in its history, with the change of status",
            trigger: ".o-mail-Message:contains(Rejected: The declared date of birth is not the registered one.)",
        },
    ],
});
