-- Run once by entrypoint.sh as the postgres superuser; :admin_pw and :checkout_pw are set before.
CREATE ROLE gameday_admin LOGIN SUPERUSER PASSWORD :'admin_pw';
CREATE ROLE checkout LOGIN PASSWORD :'checkout_pw';
-- Faults must show as errors within seconds, not as requests that hang.
ALTER ROLE checkout SET statement_timeout = '2s';
ALTER ROLE checkout SET lock_timeout = '1s';
ALTER ROLE checkout SET idle_in_transaction_session_timeout = '10s';
CREATE DATABASE checkout OWNER checkout;

\connect checkout
SET ROLE checkout;
CREATE TABLE products (
    id          integer PRIMARY KEY,
    name        text    NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0)
);
CREATE TABLE orders (
    id         bigserial   PRIMARY KEY,
    product_id integer     NOT NULL REFERENCES products (id),
    quantity   integer     NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO products (id, name, price_cents) VALUES
    (1, 'coffee beans 1 kg', 1890),
    (2, 'espresso cup', 650),
    (3, 'milk jug', 1200),
    (4, 'grinder', 8900);
