-- Access as code (`portcullis apply`, docs/ACCESS-AS-CODE.md): the version
-- a declared password was generated for. A change of the declared version
-- regenerates that password only. NULL for a password generated any other
-- way (the portal, `token credential generate`).
ALTER TABLE tokens ADD COLUMN p1_version TEXT, ADD COLUMN p2_version TEXT;
