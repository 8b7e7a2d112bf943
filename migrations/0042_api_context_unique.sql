-- An API's context and version are its address: the catalog, exports and imports name an
-- API by them, and two APIs at one address leave developers guessing which one they get.
-- Name and version were already unique (0010); so are context and version from now on.
-- APIs already sharing one stop the migration with their names and ids, for a publisher
-- to resolve (fedgate cannot tell which one is meant): change the context (or version) of
-- all but one of them, or delete them, then start fedgate again.
DO $$
DECLARE
    shared TEXT;
BEGIN
    SELECT string_agg(format('%s %s (%s)', context, api_version, apis), '; ')
      INTO shared
      FROM (SELECT context, api_version,
                   string_agg(format('%s, id %s', name, id), '; ' ORDER BY id) AS apis
              FROM apis
             GROUP BY context, api_version
            HAVING count(*) > 1) AS duplicates;
    IF shared IS NOT NULL THEN
        RAISE EXCEPTION 'APIs share a context and version: %', shared
            USING HINT = 'give all but one of them another context (PATCH /publisher/v1/apis/{id} {"context": "..."}) or version, or delete them, then start fedgate again';
    END IF;
END
$$;

CREATE UNIQUE INDEX apis_context_version ON apis (context, api_version);
