import Foundation
import KychCore

/// Clients, sessions, codes, tokens and signing keys in memory: the reference implementation of the store
/// contracts, and what the flow's unit tests run on (no database, no processes). An actor, so
/// each primitive is atomic as on the database backends.
package actor InMemoryStore: FlowStore, ClientRepository, SigningKeyStore {
    private var clientsByID: [String: Client] = [:]
    private var sessions: [Int64: VerificationSession] = [:]
    private var codes: [Int64: (hash: Data, sessionSerial: Int64, code: StoredAuthorizationCode)] = [:]
    private var tokens: [(hash: Data, sessionSerial: Int64, codeSerial: Int64?, createdAt: Date, expiresAt: Date, revokedAt: Date?,
                          dpopJKT: String?)] = []
    private var secrets: [String: Data] = [:]
    /// Sessions whose claims were erased: when, and the `sub` kept.
    private var erasures: [Int64: (at: Date, subject: String?)] = [:]
    private var storedSigningKeys: [StoredSigningKey] = []
    private var pushedRequests: [Data: PushedAuthorizationRequest] = [:]
    private var nextSerial: Int64 = 1
    private var seenJWTIDs: [Data: Date] = [:]
    /// By status list index; indexes are never reused.
    private var attestations: [Int64: (attestation: NewAttestation, revokedAt: Date?)] = [:]
    private var lastAttestationIndex: Int64 = 0

    package init() {}

    private func serial() -> Int64 {
        defer { nextSerial += 1 }
        return nextSerial
    }

    // MARK: ClientRepository

    package func listClients() -> [Client] { clientsByID.values.sorted { $0.clientID < $1.clientID } }

    package func client(id: String) -> Client? { clientsByID[id] }

    package func createClient(_ client: Client) throws {
        guard clientsByID[client.clientID] == nil else { throw ClientStoreError.duplicateClientID(client.clientID) }
        clientsByID[client.clientID] = client
    }

    package func updateClient(_ client: Client) throws {
        guard clientsByID[client.clientID] != nil else { throw ClientStoreError.unknownClient(client.clientID) }
        clientsByID[client.clientID] = client
    }

    package func deleteClient(id: String) -> Bool {
        guard clientsByID.removeValue(forKey: id) != nil else { return false }
        let gone = Set(sessions.values.filter { $0.clientID == id }.map(\.serial))
        sessions = sessions.filter { !gone.contains($0.key) }
        codes = codes.filter { !gone.contains($0.value.sessionSerial) }
        tokens.removeAll { gone.contains($0.sessionSerial) }
        pushedRequests = pushedRequests.filter { $0.value.clientID != id }
        return true
    }

    package func syncClients(_ clients: [Client], prune: Bool) -> ClientSyncReport {
        var report = ClientSyncReport()
        for client in clients {
            if clientsByID[client.clientID] == nil { report.created.append(client.clientID) } else { report.updated.append(client.clientID) }
            clientsByID[client.clientID] = client
        }
        if prune {
            let keep = Set(clients.map(\.clientID))
            for id in clientsByID.keys.sorted() where !keep.contains(id) {
                _ = deleteClient(id: id)
                report.deleted.append(id)
            }
        }
        return report
    }

    // MARK: FlowStore

    package func createSession(_ new: NewSession) -> VerificationSession? {
        guard clientsByID[new.clientID] != nil else { return nil }
        let s = serial()
        var session = VerificationSession(serial: s, clientID: new.clientID, sessionID: new.sessionID, nonce: new.nonce, status: .pending,
                                          createdAt: new.createdAt, expiresAt: new.expiresAt)
        session.withoutSetup = new.withoutSetup
        sessions[s] = session
        return session
    }

    package func session(nonce: String) -> VerificationSession? { sessions.values.first { $0.nonce == nonce } }

    package func session(serial: Int64) -> VerificationSession? { sessions[serial] }

    package func session(verificationID: String) -> VerificationSession? {
        sessions.values.first { $0.verification?.id == verificationID }
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64) -> VerificationSession? {
        guard let session = sessions[serial], transition.applies(to: session) else { return nil }
        let applied = transition.applied(to: session)
        sessions[serial] = applied
        return applied
    }

    package func claimVerifierCheck(session serial: Int64, status: SessionStatus, checkedBefore: Date, now: Date) -> Bool {
        guard var session = sessions[serial], session.status == status, session.lastCheckedAt.map({ $0 < checkedBefore }) ?? true else {
            return false
        }
        session.lastCheckedAt = now
        sessions[serial] = session
        return true
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64, issuing code: NewAuthorizationCode) -> Bool {
        guard let session = apply(transition, toSession: serial) else { return false }
        let s = self.serial()
        codes[s] = (code.codeHash, serial, StoredAuthorizationCode(serial: s, session: session, clientID: session.clientID, redirectURI: code.redirectURI,
                                                                   codeChallenge: code.codeChallenge, expiresAt: code.expiresAt, usedAt: nil))
        return true
    }

    package func authorizationCode(hash: Data) -> StoredAuthorizationCode? {
        guard var code = codes.values.first(where: { $0.hash == hash })?.code, let session = sessions[code.session.serial] else { return nil }
        code.session = session
        return code
    }

    package func redeemCode(serial: Int64, usedAt: Date, issuing token: NewAccessToken) -> Bool {
        guard var entry = codes[serial], entry.code.usedAt == nil else { return false }
        entry.code.usedAt = usedAt
        codes[serial] = entry
        tokens.append((token.tokenHash, entry.sessionSerial, serial, token.createdAt, token.expiresAt, nil, token.dpopJKT))
        return true
    }

    package func storePresentedGrant(_ grant: PresentedGrant, issuing token: NewAccessToken) -> Bool {
        guard clientsByID[grant.clientID] != nil else { return false }
        let s = serial()
        var session = grant.session
        session.serial = s
        sessions[s] = session
        tokens.append((token.tokenHash, s, nil, token.createdAt, token.expiresAt, nil, token.dpopJKT))
        return true
    }

    package func revokeTokens(issuedFromCode serial: Int64, at: Date) {
        for i in tokens.indices where tokens[i].codeSerial == serial && tokens[i].revokedAt == nil { tokens[i].revokedAt = at }
    }

    package func accessToken(hash: Data) -> StoredAccessToken? {
        guard let token = tokens.first(where: { $0.hash == hash }), let session = sessions[token.sessionSerial] else { return nil }
        var stored = StoredAccessToken(session: session, record: NewAccessToken(tokenHash: token.hash, createdAt: token.createdAt,
                                                                            expiresAt: token.expiresAt, dpopJKT: token.dpopJKT),
                                       revokedAt: token.revokedAt)
        stored.claimsErasedAt = erasures[session.serial]?.at
        stored.claimsSubject = erasures[session.serial]?.subject
        stored.presented = token.codeSerial == nil
        return stored
    }

    package func eraseClaims(sessionID: String, keepingSubject subject: String?, at: Date) -> Bool {
        guard let serial = sessions.first(where: { $0.value.sessionID == sessionID })?.key, sessions[serial]?.claims != nil,
              erasures[serial] == nil else { return false }
        erase(serial, at: at, subject: subject)
        return true
    }

    package func eraseClaims(verifiedBefore: Date?, unreachableAt now: Date) -> Int {
        let reachable = Set(codes.values.filter { $0.code.usedAt == nil && $0.code.expiresAt > now }.map(\.sessionSerial))
            .union(tokens.filter { $0.revokedAt == nil && $0.expiresAt > now }.map(\.sessionSerial))
        var count = 0
        for (serial, session) in sessions where session.claims != nil && erasures[serial] == nil {
            let old = verifiedBefore.map { limit in session.verifiedAt.map { $0 <= limit } ?? false } ?? false
            guard old || (session.expiresAt <= now && !reachable.contains(serial)) else { continue }
            erase(serial, at: now, subject: nil)
            count += 1
        }
        return count
    }

    package func purgeClient(id clientID: String, at: Date) -> PurgeReport? {
        guard clientsByID[clientID] != nil else { return nil }
        var report = PurgeReport()
        let finished: Set<SessionStatus> = [.failed, .completed, .expired]
        for (serial, session) in sessions where session.clientID == clientID {
            if session.claims != nil, erasures[serial] == nil {
                erase(serial, at: at, subject: nil)
                report.erasedClaims += 1
            }
            guard finished.contains(session.status) else { continue }
            sessions[serial] = nil
            erasures[serial] = nil
            codes = codes.filter { $0.value.sessionSerial != serial }
            tokens.removeAll { $0.sessionSerial == serial }
            report.deletedSessions += 1
        }
        return report
    }

    private func erase(_ serial: Int64, at: Date, subject: String?) {
        sessions[serial]?.claims = [:]
        erasures[serial] = (at, subject)
    }

    package func serverSecret(named name: String, candidate: Data, at: Date) -> Data {
        if let existing = secrets[name] { return existing }
        secrets[name] = candidate
        return candidate
    }

    package func revokeAccessToken(hash: Data, at: Date) -> Bool {
        guard let i = tokens.firstIndex(where: { $0.hash == hash && $0.revokedAt == nil }) else { return false }
        tokens[i].revokedAt = at
        return true
    }

    package func applyToExpiredSessions(_ transition: SessionTransition, expiredBy: Date) -> Int {
        var count = 0
        for (serial, session) in sessions where transition.from.contains(session.status) && session.expiresAt <= expiredBy {
            sessions[serial] = transition.applied(to: session)
            count += 1
        }
        return count
    }

    package func applyToIdleSessionsWithoutSetup(_ transition: SessionTransition, idleSince: Date) -> Int {
        var count = 0
        for (serial, session) in sessions
        where session.withoutSetup && transition.from.contains(session.status) && (session.lastCheckedAt ?? session.createdAt) <= idleSince {
            sessions[serial] = transition.applied(to: session)
            count += 1
        }
        return count
    }

    package func countSessionsWithoutSetup(clientID: String, statuses: Set<SessionStatus>, expiringAfter: Date, limit: Int) -> Int {
        min(limit, sessions.values.count(where: {
            $0.clientID == clientID && $0.withoutSetup && statuses.contains($0.status) && $0.expiresAt > expiringAfter
        }))
    }

    package func deleteExpired(before cutoff: Date) -> PurgeReport {
        var report = PurgeReport()
        let before = tokens.count
        tokens.removeAll { $0.expiresAt <= cutoff }
        report.deletedTokens = before - tokens.count
        let tokenCodes = Set(tokens.compactMap(\.codeSerial)), tokenSessions = Set(tokens.map(\.sessionSerial))
        for (serial, entry) in codes where entry.code.expiresAt <= cutoff && !tokenCodes.contains(serial) {
            codes[serial] = nil
            report.deletedCodes += 1
        }
        let codeSessions = Set(codes.values.map(\.sessionSerial))
        for (serial, session) in sessions
        where session.expiresAt <= cutoff && !tokenSessions.contains(serial) && !codeSessions.contains(serial) {
            sessions[serial] = nil
            erasures[serial] = nil
            report.deletedSessions += 1
        }
        seenJWTIDs = seenJWTIDs.filter { $0.value > cutoff }
        attestations = attestations.filter { $0.value.attestation.expiresAt > cutoff }
        let pushed = pushedRequests.count
        pushedRequests = pushedRequests.filter { $0.value.expiresAt > cutoff }
        report.deletedPushedRequests = pushed - pushedRequests.count
        return report
    }

    package func storePushedRequest(_ request: PushedAuthorizationRequest) -> Bool {
        guard clientsByID[request.clientID] != nil else { return false }
        pushedRequests[request.handleHash] = request
        return true
    }

    package func takePushedRequest(handleHash: Data) -> PushedAuthorizationRequest? {
        pushedRequests.removeValue(forKey: handleHash)
    }

    package func recordAttestation(_ attestation: NewAttestation) -> Int64 {
        lastAttestationIndex += 1
        attestations[lastAttestationIndex] = (attestation, nil)
        return lastAttestationIndex
    }

    package func revokeAttestations(id: String, at: Date) -> Int {
        var revoked = 0
        for (index, entry) in attestations where entry.revokedAt == nil && (entry.attestation.id == id || entry.attestation.sessionID == id) {
            attestations[index]?.revokedAt = at
            revoked += 1
        }
        return revoked
    }

    package func attestationStatuses() -> AttestationStatuses {
        AttestationStatuses(highestIndex: attestations.keys.max() ?? 0, revoked: Set(attestations.filter { $0.value.revokedAt != nil }.keys))
    }

    package func recordOnce(_ key: Data, expiresAt: Date, now: Date) -> Bool {
        if let until = seenJWTIDs[key], until > now { return false }
        seenJWTIDs[key] = expiresAt
        return true
    }

    // MARK: SigningKeyStore

    package func signingKeys() -> [StoredSigningKey] { storedSigningKeys }

    package func insertFirstSigningKeys(_ keys: [StoredSigningKey]) -> Bool {
        guard storedSigningKeys.isEmpty else { return false }
        storedSigningKeys = keys
        return true
    }

    /// No check that kids are unique (the databases' index): they are thumbprints of fresh keys.
    package func insertSigningKeys(_ keys: [StoredSigningKey], retiring kids: [String], at retiresAt: Date) {
        for i in storedSigningKeys.indices where kids.contains(storedSigningKeys[i].kid) && storedSigningKeys[i].retiresAt == nil {
            storedSigningKeys[i].retiresAt = retiresAt
        }
        storedSigningKeys += keys
    }

    package func deleteSigningKeys(retiredBy cutoff: Date) -> Int {
        let before = storedSigningKeys.count
        storedSigningKeys.removeAll { $0.retiresAt.map { $0 <= cutoff } ?? false }
        return before - storedSigningKeys.count
    }
}
