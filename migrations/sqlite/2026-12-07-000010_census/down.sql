DROP TABLE census_adults;
DROP TABLE census_households;
DROP TABLE census_import;
