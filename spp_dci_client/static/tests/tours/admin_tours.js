import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("spp_dci_data_source_create", {
    steps: () => [
        {
            content: "The empty list says what a data source is",
            trigger: ".o_view_nocontent:contains(Connect a DCI registry)",
        },
        {
            content: "Create a data source",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "New sources authenticate with OAuth 2.0",
            trigger: ".o_field_widget[name=auth_type] input[data-value=oauth2]:checked",
        },
        {
            content: "They require signed responses, and say where the registry's key comes from",
            trigger: ".o_dci_needs_registry_key:contains(Fetch Registry Keys)",
        },
        {
            content: "Open the Signatures tab",
            trigger: ".o_notebook_headers a:contains(Signatures)",
            run: "click",
        },
        {
            content: "They sign with the active signing key",
            trigger: ".o_field_widget[name=signing_key_id] input:value(Tour signing key)",
        },
        {
            content: "and refuse unsigned responses",
            trigger: ".o_field_widget[name=signature_policy] input:value(Required: unsigned responses are refused)",
        },
        {
            content: "Back to the Authentication tab",
            trigger: ".o_notebook_headers a:contains(Authentication)",
            run: "click",
        },
        {
            content: "Our Sender ID is asked on the first tab, and required",
            trigger: ".o_required_modifier[name=our_sender_id] input",
            run: "edit openspp.tour",
        },
        {
            content: "Name",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour CRVS",
        },
        {
            content: "Code",
            trigger: ".o_field_widget[name=code] input",
            run: "edit tour_crvs",
        },
        {
            content: "Base URL",
            trigger: ".o_field_widget[name=base_url] input",
            run: "edit https://crvs.example.gov/api/v1",
        },
        {
            content: "Client id",
            trigger: ".o_field_widget[name=oauth2_client_id] input",
            run: "edit tour-client",
        },
        {
            content: "Client secret",
            trigger: ".o_field_widget[name=oauth2_client_secret] input",
            run: "edit tour-Secret-77",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: the chatter records the creation",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Data Source created)",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_jwks_fetch", {
    steps: () => [
        {
            content: "Fetch the registry's keys",
            trigger: "button[name=action_fetch_registry_keys]",
            run: "click",
        },
        {
            content: "The dialog proposes the JWKS under the base URL",
            trigger: ".modal .o_field_widget[name=url] input:value(/.well-known/jwks.json)",
        },
        {
            content: "Fetch",
            trigger: ".modal button[name=action_fetch]",
            run: "click",
        },
        {
            content: "The key found is listed with its type",
            trigger: ".modal .o_dci_jwks_keys td:contains(Ed25519)",
        },
        {
            content: "Pin it",
            trigger: ".modal button[name=action_pin_key]",
            run: "click",
        },
        {
            content: "Open the Signatures tab",
            trigger: ".o_notebook_headers a:contains(Signatures)",
            run: "click",
        },
        {
            content: "The registry key ID is set on the data source",
            trigger: ".o_field_widget[name=registry_key_id] input:value(crvs.simulator)",
        },
        {
            content: "The chatter says the key changed",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Registry Key ID)",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_signing_key", {
    steps: () => [
        {
            content: "Name the new key",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour key 2027",
        },
        {
            content: "The public key area explains what comes",
            trigger: ".o_form_sheet p:contains(never shows it)",
        },
        {
            content: "Generate it",
            trigger: "button[name=action_generate]",
            run: "click",
        },
        {
            content: "The PEM shows on several lines",
            trigger: ".o_dci_public_key .o_field_text:contains(-----BEGIN PUBLIC KEY-----)",
        },
        {
            content: "with a copy button",
            trigger: ".o_dci_public_key .o_clipboard_button:contains(Copy public key)",
        },
        {
            content: "The chatter records the generation",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Key generated)",
        },
        {
            content: "Activate it",
            trigger: "button[name=action_activate]",
            run: "click",
        },
        {
            content: "The chatter records the activation",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Key activated)",
        },
        {
            content: "It signs messages now",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Active)",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_message_log", {
    steps: () => [
        {
            content: "The message log lists the failed call with its reason",
            trigger: ".o_data_row:contains(Search):contains(err.request.not_found)",
        },
        {
            content: "with readable labels",
            trigger: "th:contains(HTTP Status)",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot shows the error rate per data source",
            trigger: ".o_pivot th:contains(Error Rate (%))",
        },
        {
            content: "and the failing data source",
            trigger: ".o_pivot th:contains(Simulated crvs)",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_message_log_empty", {
    steps: () => [
        {
            content: "An empty message log says what it will hold",
            trigger: ".o_view_nocontent:contains(No DCI message yet)",
        },
    ],
});

registry.category("web_tour.tours").add("spp_dci_overview", {
    steps: () => [
        {
            content: "The overview shows the data source",
            trigger: ".o_kanban_record:contains(Simulated crvs):contains(Calls, last 24 hours)",
        },
        {
            content: "with its error rate",
            trigger: ".o_kanban_record:contains(Simulated crvs) .o_dci_overview_stats:contains(50.0 %)",
        },
        {
            content: "and the callbacks it awaits",
            trigger: ".o_kanban_record:contains(Simulated crvs) .o_dci_overview_stats:contains(Callbacks awaited)",
        },
        {
            content: "Open its message log",
            trigger: ".o_kanban_record:contains(Simulated crvs) button[name=action_open_message_log]",
            run: "click",
        },
        {
            content: "Its failures are listed",
            trigger: ".o_data_row td:contains(err.request.not_found)",
        },
    ],
});
