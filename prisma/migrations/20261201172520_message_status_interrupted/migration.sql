-- AlterEnum
ALTER TYPE "MessageStatus" ADD VALUE 'interrupted';
