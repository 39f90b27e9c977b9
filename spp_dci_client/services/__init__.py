# Plain-Python protocol code: envelopes, canonical JSON, signing, transport and
# errors. Modules here take plain values and do not touch the ORM; the models
# feed them. Import the modules you need directly.
