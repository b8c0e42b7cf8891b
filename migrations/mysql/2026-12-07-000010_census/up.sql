-- Census margins (issue 19): what `pesquisa census import` stored from IBGE's Censo 2022
-- files, summed per bairro. One import at a time: a new import replaces every row of the
-- three tables in one transaction. `census_import` says where the margins came from;
-- `illustrative` marks the invented demo files shipped in the binary.
CREATE TABLE census_import (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    imported_at DATETIME(6) NOT NULL,
    basico_file VARCHAR(255) NOT NULL,
    demografia_file VARCHAR(255) NOT NULL,
    mapping_file VARCHAR(255) NOT NULL,
    illustrative BOOLEAN NOT NULL,
    setores INTEGER NOT NULL,
    unmapped INTEGER NOT NULL,
    suppressed INTEGER NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Occupied permanent private households (IBGE V0007) per bairro.
CREATE TABLE census_households (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    bairro VARCHAR(255) NOT NULL,
    households BIGINT NOT NULL,
    CONSTRAINT census_households_bairro UNIQUE (bairro),
    CONSTRAINT census_households_positive CHECK (households >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Persons aged 18 or over per bairro, sex (feminino, masculino) and age band (18-29 …
-- 60+). Fractional: 18–19 is 2/5 of IBGE's 15–19 group.
CREATE TABLE census_adults (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    bairro VARCHAR(255) NOT NULL,
    sexo VARCHAR(16) NOT NULL,
    faixa VARCHAR(8) NOT NULL,
    persons DOUBLE NOT NULL,
    CONSTRAINT census_adults_cell UNIQUE (bairro, sexo, faixa),
    CONSTRAINT census_adults_positive CHECK (persons >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
