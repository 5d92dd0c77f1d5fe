/*
  Warnings:

  - A unique constraint covering the columns `[storyId,position]` on the table `Chapter` will be added. If there are existing duplicate values, this will fail.

*/
-- CreateEnum
CREATE TYPE "StoryStatus" AS ENUM ('DRAFT', 'PUBLISHED', 'ARCHIVED');

-- DropIndex
DROP INDEX "Chapter_storyId_idx";

-- AlterTable
ALTER TABLE "Chapter" ADD COLUMN     "wordCount" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Story" ADD COLUMN     "publishedAt" TIMESTAMP(3),
ADD COLUMN     "status" "StoryStatus" NOT NULL DEFAULT 'DRAFT';

-- CreateIndex
CREATE UNIQUE INDEX "Chapter_storyId_position_key" ON "Chapter"("storyId", "position");

-- CreateIndex
CREATE INDEX "Story_organizationId_status_idx" ON "Story"("organizationId", "status");
