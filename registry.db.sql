-- onnxhub catalog schema (sqlite), generated from hub/catalog/models.py.
-- Regenerate with: make schema   (or: python -m hub.catalog.schema > registry.db.sql)

CREATE TABLE events (
	id INTEGER NOT NULL,
	kind VARCHAR(50) NOT NULL,
	model_name VARCHAR(200) NOT NULL,
	version INTEGER,
	alias VARCHAR(100),
	payload JSON NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_events PRIMARY KEY (id)
);

CREATE INDEX ix_events_model_name_id ON events (model_name, id);

CREATE TABLE owners (
	id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_owners PRIMARY KEY (id),
	CONSTRAINT uq_owners_name UNIQUE (name)
);

CREATE TABLE tags (
	id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	CONSTRAINT pk_tags PRIMARY KEY (id),
	CONSTRAINT uq_tags_name UNIQUE (name)
);

CREATE TABLE models (
	id INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	owner_id INTEGER NOT NULL,
	task VARCHAR(100),
	license VARCHAR(100),
	description TEXT,
	card TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_models PRIMARY KEY (id),
	CONSTRAINT uq_models_name UNIQUE (name),
	CONSTRAINT fk_models_owner_id_owners FOREIGN KEY(owner_id) REFERENCES owners (id)
);

CREATE INDEX ix_models_task ON models (task);

CREATE TABLE model_tags (
	model_id INTEGER NOT NULL,
	tag_id INTEGER NOT NULL,
	CONSTRAINT pk_model_tags PRIMARY KEY (model_id, tag_id),
	CONSTRAINT fk_model_tags_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_model_tags_tag_id_tags FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE
);

CREATE TABLE versions (
	id INTEGER NOT NULL,
	model_id INTEGER NOT NULL,
	number INTEGER NOT NULL,
	family VARCHAR(100) NOT NULL,
	framework VARCHAR(100) NOT NULL,
	framework_version VARCHAR(100) NOT NULL,
	opset INTEGER NOT NULL,
	ir_version INTEGER NOT NULL,
	inputs JSON NOT NULL,
	outputs JSON NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	size BIGINT NOT NULL,
	parity JSON,
	test_data_sha256 VARCHAR(64),
	task VARCHAR(100),
	extra JSON NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_versions PRIMARY KEY (id),
	CONSTRAINT uq_versions_model_number UNIQUE (model_id, number),
	CONSTRAINT fk_versions_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE
);

CREATE INDEX ix_versions_sha256 ON versions (sha256);

CREATE TABLE aliases (
	id INTEGER NOT NULL,
	model_id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	version_id INTEGER NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_aliases PRIMARY KEY (id),
	CONSTRAINT uq_aliases_model_name UNIQUE (model_id, name),
	CONSTRAINT fk_aliases_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_aliases_version_id_versions FOREIGN KEY(version_id) REFERENCES versions (id) ON DELETE CASCADE
);
