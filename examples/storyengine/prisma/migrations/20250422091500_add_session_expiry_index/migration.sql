-- Prune sessions that expired more than 90 days ago before building the
-- expiry index, so the index build only has to cover live and recent rows.
-- (Hand-written step, added after `prisma migrate dev --create-only`.)
DELETE FROM "Session" WHERE "expiresAt" < NOW() - INTERVAL '90 days';

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "lastSeenAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");
