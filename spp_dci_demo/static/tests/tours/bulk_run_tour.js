import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_demo_bulk_run", {
    url: "/odoo/child-benefit",
    steps: () => [
        {
            content: "Ask to verify every pending birth",
            trigger: ".o_menu_sections a:contains(Verify Pending Births)",
            run: "click",
        },
        {
            content: "The confirmation says how many",
            trigger: ".o_dci_bulk_summary:contains(The births of 6 enrollment requests will be checked)",
        },
        {
            content: "Start the run",
            trigger: ".modal button[name=action_start]",
            run: "click",
        },
        {
            content: "The run is queued and shows its progress bar",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Running)",
        },
        {
            content: "Nothing answered yet",
            trigger: ".o_dci_bulk_progress .o_progress[aria-valuenow='0']",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_demo_bulk_run_done", {
    steps: () => [
        {
            content: "The run is done",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Done)",
        },
        {
            content: "Every item answered",
            trigger: ".o_dci_bulk_progress .o_progress[aria-valuenow='100']",
        },
        {
            content: "The outcome says what the registry said, not that every birth was verified",
            trigger: ".o_dci_demo_birth_summary:contains(3 verified, 2 did not match, 1 not registered)",
        },
    ],
});
