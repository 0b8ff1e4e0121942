-- Knowledge bases (the embedding service owns these tables). Documents are
-- deduplicated per tenant by content hash; their chunks carry the text, its
-- full-text vector (for lexical ranking) and its embedding (real[]: exact
-- cosine anywhere; plus a pgvector column where the extension is installed).
-- A tenant's knowledge version moves on every change (the AI caches key on it).
alter table tenants add column knowledge_version bigint not null default 0;
-- An answer's sources (the documents it came from), shown under it.
alter table messages add column sources jsonb;

create table knowledge_documents (
  tenant_id     text not null references tenants (id),
  id            text not null,
  title         text not null,
  -- Where it came from (a URL or file name): the citation the widget shows.
  source        text,
  format        text not null check (format in ('markdown', 'html', 'text', 'pdf')),
  content_hash  text not null,
  -- The document's text as uploaded (PDFs: their extracted text), kept until
  -- re-ingested or deleted: an ingestion job that dies is simply run again.
  content       text not null,
  status        text not null default 'pending' check (status in ('pending', 'ready', 'failed')),
  error         text,
  chunk_count   integer not null default 0,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, content_hash)
);

create table knowledge_chunks (
  tenant_id     text not null,
  document_id   text not null,
  ord           integer not null,
  heading       text not null,
  text          text not null,
  content_hash  text not null,
  -- The embedder that made `embedding` (vectors of different models are never compared).
  model         text not null,
  embedding     real[] not null,
  tsv           tsvector generated always as (to_tsvector('english', heading || ' ' || text)) stored,
  primary key (tenant_id, document_id, ord),
  foreign key (tenant_id, document_id) references knowledge_documents (tenant_id, id) on delete cascade
);

create index knowledge_chunks_tsv on knowledge_chunks using gin (tsv);
create index knowledge_chunks_by_model on knowledge_chunks (tenant_id, model);

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'vector') then
    create extension if not exists vector;
    alter table knowledge_chunks add column embedding_vector vector;
  end if;
end $$;
