import { onWillDestroy } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { BadgeField, badgeField } from "@web/views/fields/badge/badge_field";

/** Sent by the server when an async check of a record is answered (see enrollment_check.py). */
const ASYNC_DONE = "spp_dci_demo/async_check_done";

/** A check outcome badge that reloads its record when the registry's async answer arrives. */
export class AsyncOutcomeField extends BadgeField {
    setup() {
        super.setup();
        const busService = useService("bus_service");
        const onDone = ({ model, id }) => {
            const record = this.props.record;
            if (model === record.resModel && id === record.resId && !record.dirty) {
                record.load();
            }
        };
        busService.subscribe(ASYNC_DONE, onDone);
        busService.start();
        onWillDestroy(() => busService.unsubscribe(ASYNC_DONE, onDone));
    }
}

registry.category("fields").add("dci_async_outcome", { ...badgeField, component: AsyncOutcomeField });
