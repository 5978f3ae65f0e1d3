-- AlterTable
ALTER TABLE "api_tokens" ADD COLUMN     "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Tokens made before scopes existed keep what programs use them for (model calls and
-- threads); credential management and administration are refused to every token by code.
UPDATE "api_tokens" SET "scopes" = ARRAY['models', 'threads:read', 'threads:write']::TEXT[];
