/*
  Warnings:

  - You are about to drop the `LegacyApiKey` table. If the table is not empty, all the data it contains will be lost.

*/
-- DropForeignKey
ALTER TABLE "LegacyApiKey" DROP CONSTRAINT "LegacyApiKey_organizationId_fkey";

-- DropTable
DROP TABLE "LegacyApiKey";
