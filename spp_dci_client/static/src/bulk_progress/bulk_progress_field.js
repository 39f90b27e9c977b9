import { onMounted, onWillUnmount } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { ProgressBarField, progressBarField } from "@web/views/fields/progress_bar/progress_bar_field";

const REFRESH_MS = 2000;

/** The progress bar of a bulk run, which reloads the record while the run is running. */
export class BulkProgressField extends ProgressBarField {
    setup() {
        super.setup();
        let timer;
        onMounted(() => {
            timer = setInterval(() => {
                const record = this.props.record;
                if (record.data.state === "running" && !record.dirty) {
                    record.load();
                }
            }, REFRESH_MS);
        });
        onWillUnmount(() => clearInterval(timer));
    }
}

registry.category("fields").add("dci_bulk_progress", { ...progressBarField, component: BulkProgressField });
