-- A thread's updated_at follows its newest message, written by the database with the
-- message itself: one statement per message instead of a four-statement transaction
-- (BEGIN, INSERT, UPDATE, COMMIT) on the chat path. It never moves backwards.
CREATE FUNCTION "touch_thread_on_message"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "threads" SET "updated_at" = NEW."created_at" WHERE "id" = NEW."thread_id" AND "updated_at" < NEW."created_at";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "messages_touch_thread" AFTER INSERT ON "messages" FOR EACH ROW EXECUTE FUNCTION "touch_thread_on_message"();
