import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_crvs_subscription", {
    url: "/odoo/action-spp_dci_client_crvs.spp_dci_crvs_subscription_action",
    steps: () => [
        {
            content: "The empty list says what subscriptions are for",
            trigger: ".o_view_nocontent:contains(No subscription to a civil registry yet)",
        },
        {
            content: "Subscribe",
            trigger: ".o_list_buttons button:contains(Subscribe), .o_control_panel button:contains(Subscribe)",
            run: "click",
        },
        {
            content: "Open the event types",
            trigger: ".modal div[name=event_type] input",
            run: "click",
        },
        {
            content: "Choose deaths",
            trigger: ".o_select_menu_menu .o_select_menu_item:contains(Death):not(:contains(Fetal))",
            run: "click",
        },
        {
            content: "The civil registry is chosen for us",
            trigger: ".modal .o_field_widget[name=data_source_id] input:value(Simulated CRVS)",
        },
        {
            content: "Send the subscription",
            trigger: ".modal button[name=action_subscribe]",
            run: "click",
        },
        {
            content: "The notification says what the registry did",
            trigger: ".o_notification:contains(the subscription to Death events)",
        },
        {
            content: "The subscription is listed",
            trigger: ".o_data_row td[name=event_type]:contains(Death)",
        },
    ],
});
