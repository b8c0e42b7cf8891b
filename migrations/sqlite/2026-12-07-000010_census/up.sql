-- Census margins (issue 19); see the MariaDB migration.
CREATE TABLE census_import (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    imported_at TIMESTAMP NOT NULL,
    basico_file VARCHAR(255) NOT NULL,
    demografia_file VARCHAR(255) NOT NULL,
    mapping_file VARCHAR(255) NOT NULL,
    illustrative BOOLEAN NOT NULL,
    setores INTEGER NOT NULL,
    unmapped INTEGER NOT NULL,
    suppressed INTEGER NOT NULL
);

CREATE TABLE census_households (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bairro VARCHAR(255) NOT NULL,
    households BIGINT NOT NULL CHECK (households >= 0),
    CONSTRAINT census_households_bairro UNIQUE (bairro)
);

CREATE TABLE census_adults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bairro VARCHAR(255) NOT NULL,
    sexo VARCHAR(16) NOT NULL,
    faixa VARCHAR(8) NOT NULL,
    persons DOUBLE NOT NULL CHECK (persons >= 0),
    CONSTRAINT census_adults_cell UNIQUE (bairro, sexo, faixa)
);
