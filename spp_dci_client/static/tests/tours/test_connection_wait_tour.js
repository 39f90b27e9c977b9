import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_test_connection_wait", {
    steps: () => [
        {
            content: "Test the connection of a registry that accepts the connection and never answers in time",
            trigger: "button[name=test_connection]",
            run: "click",
        },
        {
            content: "While the button is grey, a note says what is awaited and for how long",
            trigger: ".o_spp_dci_test_connection_wait:contains(Waiting up to 2 s for each answer of http)" +
                ":contains(/registry/sync/search)",
        },
        {
            content: "The result names the timeout and the settings to check; the note is gone",
            trigger: ".o_notification_manager:not(:has(.o_spp_dci_test_connection_wait)) " +
                ".o_spp_dci_test_connection:contains(no answer within 2 s):contains(Check: Timeout (seconds))",
        },
    ],
});
