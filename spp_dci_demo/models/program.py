from odoo import fields, models


class DciDemoProgram(models.Model):
    _name = "spp.dci.demo.program"
    _description = "Demo Programme"

    name = fields.Char(required=True)
    code = fields.Char(required=True, help="Programme identifier; excluded from duplicate-enrolment checks.")
    monthly_amount = fields.Float()
    disability_top_up = fields.Float(help="Added for a child the disability registry recognises.")
