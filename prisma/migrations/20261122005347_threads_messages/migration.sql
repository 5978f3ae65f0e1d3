-- Trigram matching for typo-tolerant title search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateEnum
CREATE TYPE "MessageRole" AS ENUM ('user', 'assistant');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('complete', 'error', 'cancelled');

-- CreateTable
CREATE TABLE "threads" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "title_by_user" BOOLEAN NOT NULL DEFAULT false,
    "summary" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "threads_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "thread_id" UUID NOT NULL,
    "model_id" TEXT NOT NULL,
    "role" "MessageRole" NOT NULL,
    "content" TEXT NOT NULL,
    "status" "MessageStatus" NOT NULL DEFAULT 'complete',
    "error_code" TEXT,
    "tokens" INTEGER,
    "prompt_tokens" INTEGER,
    "completion_tokens" INTEGER,
    "temperature" DOUBLE PRECISION,
    "finish_reason" TEXT,
    "latency_ms" INTEGER,
    "cost" DECIMAL(12,6),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "thread_model_contexts" (
    "thread_id" UUID NOT NULL,
    "model_id" TEXT NOT NULL,
    "summary" TEXT,
    "summary_tokens" INTEGER,
    "summary_model" TEXT,
    "last_summarized_id" UUID,
    "summary_updated_at" TIMESTAMPTZ(3),

    CONSTRAINT "thread_model_contexts_pkey" PRIMARY KEY ("thread_id","model_id")
);

-- CreateIndex
CREATE INDEX "threads_user_id_updated_at_id_idx" ON "threads"("user_id", "updated_at" DESC, "id");

-- CreateIndex
CREATE INDEX "threads_user_id_created_at_id_idx" ON "threads"("user_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "threads_title_trgm_idx" ON "threads" USING GIN ("title" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "messages_thread_id_model_id_created_at_id_idx" ON "messages"("thread_id", "model_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "messages_thread_id_created_at_idx" ON "messages"("thread_id", "created_at" DESC);

-- AddForeignKey
ALTER TABLE "threads" ADD CONSTRAINT "threads_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_thread_id_fkey" FOREIGN KEY ("thread_id") REFERENCES "threads"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "thread_model_contexts" ADD CONSTRAINT "thread_model_contexts_thread_id_fkey" FOREIGN KEY ("thread_id") REFERENCES "threads"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Full-text search over titles, summaries and message content (hand-written: Prisma's
-- diff does not manage expression indexes). Queries must use the same expressions.
CREATE INDEX "threads_search_idx" ON "threads" USING GIN (to_tsvector('english', "title" || ' ' || coalesce("summary", '')));
CREATE INDEX "messages_search_idx" ON "messages" USING GIN (to_tsvector('english', "content"));
