-- Sample GTM data for the demo: accounts and their contacts with lead scores,
-- lifecycle stage and churn risk, as a data team would model them.
CREATE SCHEMA IF NOT EXISTS demo;
DROP TABLE IF EXISTS demo.contacts;
DROP TABLE IF EXISTS demo.accounts;

CREATE TABLE demo.accounts (
  account_id  text PRIMARY KEY,
  name        text NOT NULL,
  tier        text NOT NULL,
  ltv_segment text NOT NULL
);
INSERT INTO demo.accounts
SELECT 'acct_' || i,
       (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Wonka'])[1 + i % 8]
         || ' ' || (ARRAY['Corp', 'Labs', 'Group', 'Inc'])[1 + i % 4] || ' ' || i,
       (ARRAY['smb', 'mid_market', 'enterprise'])[1 + i % 3],
       (ARRAY['low', 'medium', 'high'])[1 + (i * 7) % 3]
FROM generate_series(1, 400) AS i;

CREATE TABLE demo.contacts (
  user_id         text PRIMARY KEY,
  email           text NOT NULL,
  account_id      text REFERENCES demo.accounts,
  lifecycle_stage text NOT NULL,
  lead_score      integer NOT NULL,
  churn_risk      numeric(4, 3) NOT NULL,
  marketing_consent boolean NOT NULL DEFAULT true,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO demo.contacts
SELECT 'user_' || i,
       'person' || i || '@example.com',
       'acct_' || (1 + i % 400),
       (ARRAY['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'])[1 + (i * 13) % 6],
       (i * 37) % 101,
       round(((i * 17) % 1000) / 1000.0, 3),
       i % 20 <> 0,
       now() - ((i % 72) || ' hours')::interval
FROM generate_series(1, 3000) AS i;
CREATE INDEX ON demo.contacts (updated_at);
ANALYZE demo.accounts;
ANALYZE demo.contacts;
