-- A neutralized copy of a database must not reach production registries
-- with production credentials.
UPDATE spp_dci_data_source
   SET bearer_token_stored = NULL,
       oauth2_client_secret_stored = NULL,
       active = false,
       state = 'draft';
DELETE FROM spp_dci_oauth_token;
UPDATE spp_dci_signing_key
   SET private_key_stored = NULL,
       state = 'revoked';
