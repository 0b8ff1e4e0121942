-- An agent signed in through OpenID Connect is bound to the provider's subject
-- (the token's `iss` and `sub`) on the first sign-in: later ID tokens must
-- carry the same subject, not only the same e-mail address. An operator
-- clears the binding (both columns null) when the agent's account moves.
alter table agents
  add column oidc_issuer text,
  add column oidc_subject text;

create unique index agents_oidc_subject on agents (tenant_id, oidc_issuer, oidc_subject)
  where oidc_subject is not null;
