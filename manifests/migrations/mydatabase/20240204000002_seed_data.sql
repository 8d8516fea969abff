-- Seed rows for local development and demos.
INSERT INTO users (id, email, display_name) VALUES
    ('00000000-0000-4000-8000-000000000001', 'ada@example.com', 'Ada Lovelace'),
    ('00000000-0000-4000-8000-000000000002', 'grace@example.com', 'Grace Hopper');

INSERT INTO projects (owner_id, slug, name, description, visibility) VALUES
    ('00000000-0000-4000-8000-000000000001', 'analytical-engine', 'Analytical Engine', 'Notes on the engine; first program.', 'public'),
    ('00000000-0000-4000-8000-000000000002', 'cobol', 'COBOL', 'Common business-oriented language.', 'internal');
