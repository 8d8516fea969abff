-- Keep updated_at current on every UPDATE.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_touch_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TRIGGER projects_touch_updated_at
    BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE VIEW active_projects AS
SELECT p.id, p.slug, p.name, u.email AS owner_email
FROM projects p
JOIN users u ON u.id = p.owner_id
WHERE u.is_active;
