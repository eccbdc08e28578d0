-- The knowledge base the assistant cites (PRD 3.1.3). The table is shared with Phase 1's ENRICHISSEUR, which may
-- already have created it: it is adopted (columns added, nothing dropped or renamed), created otherwise.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS widip_knowledge_base (
    id BIGSERIAL PRIMARY KEY,
    content TEXT NOT NULL
);

ALTER TABLE widip_knowledge_base
    ADD COLUMN IF NOT EXISTS title TEXT,
    -- procedure, ticket (a resolved ticket) or documentation (client documentation).
    ADD COLUMN IF NOT EXISTS source_type VARCHAR(30),
    ADD COLUMN IF NOT EXISTS client TEXT,
    ADD COLUMN IF NOT EXISTS source_url TEXT,
    ADD COLUMN IF NOT EXISTS ticket_id TEXT,
    -- When the source itself last changed (not the row): the assistant shows it next to each source.
    ADD COLUMN IF NOT EXISTS source_updated_at TIMESTAMPTZ,
    -- A document is cut into chunks: `source_key` names the document (an imported file's path, an ENRICHISSEUR
    -- id), `chunk_index` the chunk's place in it. Rows Phase 1 writes on its own may leave both empty.
    ADD COLUMN IF NOT EXISTS source_key TEXT,
    ADD COLUMN IF NOT EXISTS chunk_index INT,
    -- sha256 of what was embedded: an unchanged chunk keeps its embedding on re-import.
    ADD COLUMN IF NOT EXISTS content_hash TEXT,
    -- No fixed dimension here: the dimension is configuration (384 for the offline model, 768 or more for Ollama's),
    -- and its HNSW index is created for the configured one, over a cast of this column.
    ADD COLUMN IF NOT EXISTS embedding vector,
    ADD COLUMN IF NOT EXISTS embedding_model TEXT,
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

-- French full text over the title (weighted first) and the content.
ALTER TABLE widip_knowledge_base
    ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('french', COALESCE(title, '')), 'A') || setweight(to_tsvector('french', content), 'B')
    ) STORED;

CREATE INDEX IF NOT EXISTS widip_knowledge_base_search_idx ON widip_knowledge_base USING GIN (search);
CREATE UNIQUE INDEX IF NOT EXISTS widip_knowledge_base_chunk_idx ON widip_knowledge_base (source_key, chunk_index);
CREATE INDEX IF NOT EXISTS widip_knowledge_base_client_idx ON widip_knowledge_base (client);
-- The rows still to embed (Phase 1 writes rows without embeddings; a changed chunk loses its own).
CREATE INDEX IF NOT EXISTS widip_knowledge_base_unembedded_idx ON widip_knowledge_base (id) WHERE embedding IS NULL;
