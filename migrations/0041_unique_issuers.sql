-- A token's `iss` names the one key manager whose keys verify it: an issuer belongs to
-- one key manager. Issuers are compared as tokens are matched to them, without a
-- trailing '/'. Key managers already sharing an issuer stop the migration with their
-- names, for an administrator to resolve (fedgate cannot tell which one is meant).
DO $$
DECLARE
    shared TEXT;
BEGIN
    SELECT string_agg(format('%s (%s)', issuer, names), '; ')
      INTO shared
      FROM (SELECT rtrim(issuer, '/') AS issuer, string_agg(name, ', ' ORDER BY name) AS names
              FROM key_managers
             GROUP BY 1
            HAVING count(*) > 1) AS duplicates;
    IF shared IS NOT NULL THEN
        RAISE EXCEPTION 'key managers share an issuer: %', shared
            USING HINT = 'give each key manager its own issuer, or delete all but one of them, then start fedgate again';
    END IF;
END
$$;

CREATE UNIQUE INDEX key_managers_issuer_key ON key_managers (rtrim(issuer, '/'));
