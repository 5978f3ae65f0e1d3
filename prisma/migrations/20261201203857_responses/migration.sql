-- CreateEnum
CREATE TYPE "ResponseStatus" AS ENUM ('completed', 'incomplete', 'failed');

-- CreateTable
CREATE TABLE "stored_responses" (
    "id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "model_id" TEXT NOT NULL,
    "status" "ResponseStatus" NOT NULL,
    "input" JSONB NOT NULL,
    "output" JSONB NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "usage" JSONB,
    "error" JSONB,
    "incomplete_reason" TEXT,
    "previous_response_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "stored_responses_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "stored_responses_user_id_idx" ON "stored_responses"("user_id");

-- AddForeignKey
ALTER TABLE "stored_responses" ADD CONSTRAINT "stored_responses_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
