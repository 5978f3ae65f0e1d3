-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "cached_prompt_tokens" INTEGER,
ADD COLUMN     "images" JSONB,
ADD COLUMN     "reasoning_tokens" INTEGER;

-- AlterTable
ALTER TABLE "usage_records" ADD COLUMN     "cached_prompt_tokens" INTEGER,
ADD COLUMN     "reasoning_tokens" INTEGER;
