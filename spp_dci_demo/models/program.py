from odoo import fields, models


class DciDemoProgram(models.Model):
    _name = "spp.dci.demo.program"
    _description = "Demo Programme"

    name = fields.Char(required=True)
    code = fields.Char(
        string="Registry Programme ID",
        required=True,
        help="This programme's identifier in the beneficiary registry (programme_identifier; "
        "PRG-CBN in the simulated IBR): the registry's enrolments in it are this programme's "
        "own and do not count as enrolled elsewhere.",
    )
    monthly_amount = fields.Float()
    disability_top_up = fields.Float(help="Added for a child the disability registry recognises.")
