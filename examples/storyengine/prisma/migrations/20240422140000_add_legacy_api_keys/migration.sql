-- CreateTable
CREATE TABLE "LegacyApiKey" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "keyPrefix" TEXT NOT NULL,
    "hashedKey" TEXT NOT NULL,
    "lastUsedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LegacyApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "LegacyApiKey_hashedKey_key" ON "LegacyApiKey"("hashedKey");

-- CreateIndex
CREATE INDEX "LegacyApiKey_organizationId_idx" ON "LegacyApiKey"("organizationId");

-- AddForeignKey
ALTER TABLE "LegacyApiKey" ADD CONSTRAINT "LegacyApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
