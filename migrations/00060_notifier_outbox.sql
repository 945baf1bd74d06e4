-- +goose Up
-- Issue 13: the notifier's outbox. The notifier role decides messages from events and records
-- them here in the same transaction as nothing else: a message is keyed by a deterministic
-- idempotency key (event id, template, recipient), so a redelivered event adds nothing. The
-- sender claims due rows with FOR UPDATE SKIP LOCKED (several instances share the work) and
-- marks each sent, or reschedules it with backoff, or gives up on it ('dead', named in
-- last_error). 'canceled': a scheduled message whose reason went away (a listing closed
-- before its expiry warning was due).
CREATE TABLE notifier_outbox (
    key             text        PRIMARY KEY,
    template        text        NOT NULL,
    -- an email address, or a contact reference ("candidate:<id>") resolved when sending
    recipient       text        NOT NULL,
    -- named contact references the template reads (resolved when sending)
    refs            jsonb       NOT NULL DEFAULT '{}',
    data            jsonb       NOT NULL DEFAULT '{}',
    headers         jsonb       NOT NULL DEFAULT '{}',
    essential       boolean     NOT NULL DEFAULT true,
    -- messages of one group replace each other while pending
    grp             text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'dead', 'canceled')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    message_id      text        NOT NULL DEFAULT '',
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifier_outbox_due ON notifier_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifier_outbox_group ON notifier_outbox (grp) WHERE state = 'pending' AND grp <> '';

-- The names and addresses the notifier's messages need, kept from the registration and job
-- events by the notifier itself (the read tables belong to the projectors and are rebuilt
-- under them). stream_version makes a redelivered or late event harmless.
CREATE TABLE notifier_contacts (
    ref            text        PRIMARY KEY,
    name           text        NOT NULL DEFAULT '',
    email          text        NOT NULL DEFAULT '',
    stream_version bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The terms of each listing payment when it was requested (the Stripe reference, the period
-- paid for), which the receipt on job.listing_paid names. Kept by the notifier like contacts.
CREATE TABLE notifier_payments (
    payment_id        text   PRIMARY KEY,
    payment_intent_id text   NOT NULL DEFAULT '',
    duration_seconds  bigint NOT NULL
);

-- +goose Down
DROP TABLE notifier_payments;
DROP TABLE notifier_contacts;
DROP TABLE notifier_outbox;
