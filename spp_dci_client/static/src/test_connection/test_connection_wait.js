import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { FormController } from "@web/views/form/form_controller";

/**
 * Test Connection can wait for the registry as long as the data source's timeout, once for the token
 * and once for the search: say so while the button is greyed, and take the note away with the result.
 */
patch(FormController.prototype, {
    async beforeExecuteActionButton(clickParams) {
        const proceed = await super.beforeExecuteActionButton(...arguments);
        if (proceed !== false && this.props.resModel === "spp.dci.data.source" &&
                clickParams.name === "test_connection") {
            const { base_url, search_endpoint, timeout } = this.model.root.data;
            this.closeConnectionWait = this.env.services.notification.add(
                _t("Waiting up to %(seconds)s s for each answer of %(url)s (the data source's Timeout).", {
                    seconds: timeout,
                    url: `${base_url || ""}${search_endpoint || ""}`,
                }),
                { title: _t("Testing the connection"), type: "info", sticky: true,
                  className: "o_spp_dci_test_connection_wait" }
            );
        }
        return proceed;
    },

    async afterExecuteActionButton(clickParams) {
        if (this.closeConnectionWait && clickParams.name === "test_connection") {
            this.closeConnectionWait();
            this.closeConnectionWait = null;
        }
        return super.afterExecuteActionButton(...arguments);
    },
});
