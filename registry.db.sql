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

CREATE TABLE users (
	id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	display_name VARCHAR(200),
	admin BOOLEAN DEFAULT 0 NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_users PRIMARY KEY (id),
	CONSTRAINT uq_users_name UNIQUE (name)
);

CREATE TABLE models (
	id INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	owner_id INTEGER NOT NULL,
	task VARCHAR(100),
	license VARCHAR(100),
	description TEXT,
	card TEXT,
	private BOOLEAN DEFAULT 0 NOT NULL,
	downloads BIGINT DEFAULT '0' NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_models PRIMARY KEY (id),
	CONSTRAINT uq_models_name UNIQUE (name),
	CONSTRAINT fk_models_owner_id_owners FOREIGN KEY(owner_id) REFERENCES owners (id)
);

CREATE INDEX ix_models_task ON models (task);

CREATE TABLE tokens (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	token_hash VARCHAR(64) NOT NULL,
	prefix VARCHAR(16) NOT NULL,
	scopes JSON NOT NULL,
	created_at DATETIME NOT NULL,
	last_used_at DATETIME,
	expires_at DATETIME,
	revoked_at DATETIME,
	CONSTRAINT pk_tokens PRIMARY KEY (id),
	CONSTRAINT fk_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT uq_tokens_token_hash UNIQUE (token_hash)
);

CREATE INDEX ix_tokens_user_id ON tokens (user_id);

CREATE TABLE collaborators (
	model_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	role VARCHAR(20) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_collaborators PRIMARY KEY (model_id, user_id),
	CONSTRAINT fk_collaborators_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_collaborators_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_collaborators_user_id ON collaborators (user_id);

CREATE TABLE contributions (
	id INTEGER NOT NULL,
	model_id INTEGER NOT NULL,
	author_id INTEGER NOT NULL,
	status VARCHAR(20) NOT NULL,
	title VARCHAR(200) NOT NULL,
	description TEXT,
	sha256 VARCHAR(64) NOT NULL,
	size BIGINT NOT NULL,
	test_data_sha256 VARCHAR(64),
	opset INTEGER,
	ir_version INTEGER,
	inputs JSON NOT NULL,
	outputs JSON NOT NULL,
	checks JSON NOT NULL,
	signature_diff JSON NOT NULL,
	parity JSON,
	target_version INTEGER,
	meta JSON NOT NULL,
	created_at DATETIME NOT NULL,
	decided_at DATETIME,
	decided_by_id INTEGER,
	decision_comment TEXT,
	version_number INTEGER,
	CONSTRAINT pk_contributions PRIMARY KEY (id),
	CONSTRAINT fk_contributions_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_contributions_author_id_users FOREIGN KEY(author_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_contributions_decided_by_id_users FOREIGN KEY(decided_by_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_contributions_model_id_status ON contributions (model_id, status);

CREATE INDEX ix_contributions_sha256 ON contributions (sha256);

CREATE TABLE likes (
	model_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_likes PRIMARY KEY (model_id, user_id),
	CONSTRAINT fk_likes_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_likes_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_likes_user_id ON likes (user_id);

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
	downloads BIGINT DEFAULT '0' NOT NULL,
	deleted_at DATETIME,
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

CREATE TABLE comments (
	id INTEGER NOT NULL,
	model_id INTEGER NOT NULL,
	contribution_id INTEGER,
	author_id INTEGER NOT NULL,
	body TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_comments PRIMARY KEY (id),
	CONSTRAINT fk_comments_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
	CONSTRAINT fk_comments_contribution_id_contributions FOREIGN KEY(contribution_id) REFERENCES contributions (id) ON DELETE CASCADE,
	CONSTRAINT fk_comments_author_id_users FOREIGN KEY(author_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_comments_model_id_contribution_id ON comments (model_id, contribution_id);

CREATE TABLE version_files (
	id INTEGER NOT NULL,
	version_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	path VARCHAR(1000) NOT NULL,
	role VARCHAR(10) NOT NULL,
	size BIGINT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	CONSTRAINT pk_version_files PRIMARY KEY (id),
	CONSTRAINT uq_version_files_version_path UNIQUE (version_id, path),
	CONSTRAINT fk_version_files_version_id_versions FOREIGN KEY(version_id) REFERENCES versions (id) ON DELETE CASCADE
);

CREATE INDEX ix_version_files_sha256 ON version_files (sha256);

CREATE INDEX ix_version_files_version_id ON version_files (version_id);
