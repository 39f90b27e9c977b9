import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_demo_enrollment", {
    url: "/odoo/child-benefit",
    steps: () => [
        {
            content: "Open Maria's enrollment request",
            trigger: ".o_data_row td:contains(Maria Santos)",
            run: "click",
        },
        {
            content: "Run the registry checks",
            trigger: "button[name=action_run_checks]",
            run: "click",
        },
        {
            content: "The birth is verified against the civil registry",
            trigger: ".o_field_widget[name=birth_outcome] .badge:contains(Verified)",
        },
        {
            content: "Not enrolled in another programme",
            trigger: ".o_field_widget[name=enrolment_outcome] .badge:contains(Not enrolled elsewhere)",
        },
        {
            content: "The comparison is shown field by field",
            trigger: ".o_dci_comparison td:contains('Mar 15, 2024')",
        },
        {
            content: "Approve",
            trigger: "button[name=action_approve]",
            run: "click",
        },
        {
            content: "Enroll",
            trigger: "button[name=action_enroll]",
            run: "click",
        },
        {
            content: "The child is enrolled",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Enrolled)",
        },
    ],
});
