import Foundation
import KychOAuth

/// The languages of KyCH's pages. English is the fallback.
enum Language: String, CaseIterable, Sendable {
    case en, de, fr, it

    /// The page language: `explicit` (the `?lang=` switch) when it names one of ours, else the best match in an
    /// `Accept-Language` header (q-values honoured, `de-CH` counts as `de`), else English. Never fails on bad input.
    static func negotiate(explicit: String?, acceptLanguage: String?) -> Language {
        if let explicit, let language = Language(rawValue: explicit.lowercased()) { return language }
        var best: (language: Language, q: Double)?
        for item in (acceptLanguage ?? "").lowercased().split(separator: ",").prefix(32) {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first, let primary = tag.split(separator: "-").first,
                  let language = Language(rawValue: String(primary)) else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.map { Double($0.dropFirst(2)) ?? 0 } ?? 1
            guard q > 0, q <= 1 else { continue }
            if q > best?.q ?? 0 { best = (language, q) }
        }
        return best?.language ?? .en
    }

    /// The language's own name, for the language switch.
    var name: String {
        switch self {
        case .en: "English"
        case .de: "Deutsch"
        case .fr: "Français"
        case .it: "Italiano"
        }
    }

    var text: PageText {
        switch self {
        case .en: .english
        case .de: .german
        case .fr: .french
        case .it: .italian
        }
    }
}

/// An error page's text: what happened and what the person can do next.
struct ErrorText: Sendable {
    var title: String
    var happened: String
    var next: String
}

/// Every text of the pages in one language. Claim labels and error texts cover every Beta-ID claim and every
/// ``PageError`` (checked by the tests); an unknown claim is shown by its name.
struct PageText: Sendable {
    var tagline: String
    var languageLabel: String
    var verifyTitle: String
    var requestedBy: String
    var claimsHeading: String
    var scanHint: String
    var qrLabel: String
    var openWallet: String
    var sameDeviceHint: String
    /// The `DEMO_WALLET` link and its hint.
    var useDemoWallet: String
    var demoWalletHint: String
    var timeLeft: String
    var waiting: String
    var verified: String
    var failed: String
    var expired: String
    var completed: String
    var retrying: String
    var statusUnavailable: String
    var continueLink: String
    /// The attestation offer after a successful verification (``Authorization/attestationOffer``).
    var offerTitle: String
    var offerText: String
    var offerQRLabel: String
    var addToWallet: String
    var continueToService: String
    var noScriptHint: String
    var doneTitle: String
    var doneMessage: String
    var tryAgain: String
    var technicalDetails: String
    var claims: [String: String]
    var errors: [PageError: ErrorText]

    static let english: PageText = {
        let startAgain = "Please start again from the service that sent you here."
        return PageText(
            tagline: "Identity check with swiyu",
            languageLabel: "Language",
            verifyTitle: "Verify your identity",
            requestedBy: "Requested by",
            claimsHeading: "These details from your swiyu wallet will be shared:",
            scanHint: "Scan this QR code with the swiyu app on your phone.",
            qrLabel: "QR code for the swiyu wallet",
            openWallet: "Open in swiyu wallet",
            sameDeviceHint: "Use the button if the swiyu app is on this device.",
            useDemoWallet: "Use the demo wallet",
            demoWalletHint: "Demo only: a built-in test wallet shares a sample credential, no phone needed.",
            timeLeft: "Time left:",
            waiting: "Waiting for your confirmation in the swiyu wallet…",
            verified: "Confirmed. Taking you back to the service…",
            failed: "The verification did not succeed. Taking you back to the service…",
            expired: "This verification has expired. " + startAgain,
            completed: "This verification is already complete.",
            retrying: "Connection problem – trying again…",
            statusUnavailable: "This verification cannot be continued. " + startAgain,
            continueLink: "Confirmed in your wallet? Continue",
            offerTitle: "Add a reusable KyCH attestation to your wallet",
            offerText: "Your identity has been verified. Scan this code with your wallet to receive a KyCH attestation of these details, so next time you can share it instead of your Beta-ID.",
            offerQRLabel: "QR code of the KyCH attestation offer",
            addToWallet: "Add to my wallet",
            continueToService: "Continue to the service",
            noScriptHint: "This page checks for your confirmation every 10 seconds.",
            doneTitle: "Verification complete",
            doneMessage: "Your identity has been verified. You can close this window.",
            tryAgain: "Try again",
            technicalDetails: "Technical details",
            claims: [
                "family_name": "Family name", "given_name": "Given names", "birth_date": "Date of birth", "sex": "Sex",
                "portrait": "Photo", "place_of_origin": "Place of origin", "birth_place": "Place of birth",
                "nationality": "Nationality", "personal_administrative_number": "AHV number (social security number)",
                "age_over_16": "Aged 16 or over", "age_over_18": "Aged 18 or over", "age_over_65": "Aged 65 or over",
                "age_birth_year": "Year of birth", "document_number": "Document number", "issuance_date": "Date of issue",
                "expiry_date": "Expiry date", "issuing_authority": "Issuing authority", "issuing_country": "Issuing country",
                "verification_type": "How the identity was checked",
                "verification_organization": "Organisation that checked the identity",
                "reference_id_type": "Type of reference document",
                "reference_id_expiry_date": "Expiry date of the reference document",
                "additional_person_info": "Additional personal information",
            ],
            errors: [
                .invalidRequest: ErrorText(title: "Invalid request",
                    happened: "The link that brought you here is incomplete or has been changed.", next: startAgain),
                .unknownLink: ErrorText(title: "Unknown verification link",
                    happened: "This verification link is unknown or no longer valid.", next: startAgain),
                .unknownClient: ErrorText(title: "Unknown service",
                    happened: "The service that sent you here is not registered for identity checks.",
                    next: "Please contact that service."),
                .invalidRedirect: ErrorText(title: "Invalid return address",
                    happened: "The return address in this request is not the one registered for the service, so you cannot be sent back safely.",
                    next: startAgain + " If this happens again, contact that service."),
                .expired: ErrorText(title: "Verification expired",
                    happened: "The time allowed for this verification has run out.", next: startAgain),
                .finished: ErrorText(title: "Verification already finished",
                    happened: "This verification has already been completed and cannot be used again.",
                    next: "If you still need to verify your identity, start again from the service that sent you here."),
                .verifierDown: ErrorText(title: "Verification service unavailable",
                    happened: "The identity verification service cannot be reached right now.",
                    next: "Please wait a moment and try again."),
                .internalError: ErrorText(title: "Something went wrong",
                    happened: "An unexpected error occurred on our side.", next: "Please try again in a moment."),
                .unknownVerification: ErrorText(title: "Unknown verification",
                    happened: "This verification is not known to us.", next: startAgain),
                .differentBrowser: ErrorText(title: "Different browser",
                    happened: "This verification was started in another browser or app.",
                    next: "Please finish it in the browser where you started, or start again from the service that sent you here."),
                .notVerifiedYet: ErrorText(title: "Not confirmed yet",
                    happened: "You have not confirmed the request in your swiyu wallet yet.",
                    next: "Go back to the previous page, confirm in your swiyu wallet, then continue."),
                .tooManyRequests: ErrorText(title: "Too many attempts",
                    happened: "Too many identity checks were started in a short time.",
                    next: "Please wait a minute, then try again."),
                .busy: ErrorText(title: "Service busy",
                    happened: "Too many identity checks for this service are under way right now.",
                    next: "Please wait a minute, then try again."),
            ])
    }()

    static let german: PageText = {
        let startAgain = "Bitte beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat."
        return PageText(
            tagline: "Identitätsprüfung mit swiyu",
            languageLabel: "Sprache",
            verifyTitle: "Identität bestätigen",
            requestedBy: "Angefragt von",
            claimsHeading: "Diese Angaben aus Ihrer swiyu-Wallet werden übermittelt:",
            scanHint: "Scannen Sie diesen QR-Code mit der swiyu-App auf Ihrem Smartphone.",
            qrLabel: "QR-Code für die swiyu-Wallet",
            openWallet: "In swiyu-Wallet öffnen",
            sameDeviceHint: "Verwenden Sie die Schaltfläche, wenn die swiyu-App auf diesem Gerät ist.",
            useDemoWallet: "Demo-Wallet verwenden",
            demoWalletHint: "Nur für Demos: Eine eingebaute Test-Wallet übermittelt einen Beispielausweis, ohne Smartphone.",
            timeLeft: "Verbleibende Zeit:",
            waiting: "Warten auf Ihre Bestätigung in der swiyu-Wallet…",
            verified: "Bestätigt. Sie werden zum Dienst zurückgeleitet…",
            failed: "Die Überprüfung ist fehlgeschlagen. Sie werden zum Dienst zurückgeleitet…",
            expired: "Diese Überprüfung ist abgelaufen. " + startAgain,
            completed: "Diese Überprüfung ist bereits abgeschlossen.",
            retrying: "Verbindungsproblem – neuer Versuch…",
            statusUnavailable: "Diese Überprüfung kann nicht fortgesetzt werden. " + startAgain,
            continueLink: "In der Wallet bestätigt? Weiter",
            offerTitle: "Wiederverwendbare KyCH-Bestätigung in Ihre Wallet aufnehmen",
            offerText: "Ihre Identität wurde geprüft. Scannen Sie diesen Code mit Ihrer Wallet, um eine KyCH-Bestätigung dieser Angaben zu erhalten: Beim nächsten Mal können Sie diese statt Ihrer Beta-ID vorweisen.",
            offerQRLabel: "QR-Code des Angebots der KyCH-Bestätigung",
            addToWallet: "In meine Wallet aufnehmen",
            continueToService: "Weiter zum Dienst",
            noScriptHint: "Diese Seite prüft alle 10 Sekunden, ob Sie bestätigt haben.",
            doneTitle: "Überprüfung abgeschlossen",
            doneMessage: "Ihre Identität wurde bestätigt. Sie können dieses Fenster schliessen.",
            tryAgain: "Erneut versuchen",
            technicalDetails: "Technische Details",
            claims: [
                "family_name": "Nachname", "given_name": "Vornamen", "birth_date": "Geburtsdatum", "sex": "Geschlecht",
                "portrait": "Foto", "place_of_origin": "Heimatort", "birth_place": "Geburtsort",
                "nationality": "Staatsangehörigkeit", "personal_administrative_number": "AHV-Nummer",
                "age_over_16": "Mindestens 16 Jahre alt", "age_over_18": "Mindestens 18 Jahre alt",
                "age_over_65": "Mindestens 65 Jahre alt", "age_birth_year": "Geburtsjahr",
                "document_number": "Ausweisnummer", "issuance_date": "Ausstellungsdatum", "expiry_date": "Ablaufdatum",
                "issuing_authority": "Ausstellende Behörde", "issuing_country": "Ausstellungsland",
                "verification_type": "Art der Identitätsprüfung", "verification_organization": "Prüfende Stelle",
                "reference_id_type": "Art des Referenzdokuments",
                "reference_id_expiry_date": "Ablaufdatum des Referenzdokuments",
                "additional_person_info": "Zusätzliche Angaben zur Person",
            ],
            errors: [
                .invalidRequest: ErrorText(title: "Ungültige Anfrage",
                    happened: "Der Link, über den Sie hierher gelangt sind, ist unvollständig oder wurde verändert.", next: startAgain),
                .unknownLink: ErrorText(title: "Unbekannter Überprüfungslink",
                    happened: "Dieser Überprüfungslink ist unbekannt oder nicht mehr gültig.", next: startAgain),
                .unknownClient: ErrorText(title: "Unbekannter Dienst",
                    happened: "Der Dienst, der Sie hierher geschickt hat, ist für Identitätsprüfungen nicht registriert.",
                    next: "Bitte wenden Sie sich an diesen Dienst."),
                .invalidRedirect: ErrorText(title: "Ungültige Rücksprungadresse",
                    happened: "Die Rücksprungadresse dieser Anfrage ist nicht die für den Dienst registrierte; Sie können deshalb nicht sicher zurückgeleitet werden.",
                    next: startAgain + " Tritt der Fehler erneut auf, wenden Sie sich an diesen Dienst."),
                .expired: ErrorText(title: "Überprüfung abgelaufen",
                    happened: "Die Zeit für diese Überprüfung ist abgelaufen.", next: startAgain),
                .finished: ErrorText(title: "Überprüfung bereits abgeschlossen",
                    happened: "Diese Überprüfung ist bereits abgeschlossen und kann nicht erneut verwendet werden.",
                    next: "Falls Sie Ihre Identität noch bestätigen müssen, beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat."),
                .verifierDown: ErrorText(title: "Überprüfungsdienst nicht erreichbar",
                    happened: "Der Dienst für die Identitätsprüfung ist im Moment nicht erreichbar.",
                    next: "Bitte warten Sie einen Moment und versuchen Sie es erneut."),
                .internalError: ErrorText(title: "Etwas ist schiefgelaufen",
                    happened: "Bei uns ist ein unerwarteter Fehler aufgetreten.", next: "Bitte versuchen Sie es in einem Moment erneut."),
                .unknownVerification: ErrorText(title: "Unbekannte Überprüfung",
                    happened: "Diese Überprüfung ist uns nicht bekannt.", next: startAgain),
                .differentBrowser: ErrorText(title: "Anderer Browser",
                    happened: "Diese Überprüfung wurde in einem anderen Browser oder einer anderen App gestartet.",
                    next: "Bitte schliessen Sie sie im Browser ab, in dem Sie begonnen haben, oder beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat."),
                .notVerifiedYet: ErrorText(title: "Noch nicht bestätigt",
                    happened: "Sie haben die Anfrage in Ihrer swiyu-Wallet noch nicht bestätigt.",
                    next: "Gehen Sie zur vorherigen Seite zurück, bestätigen Sie in Ihrer swiyu-Wallet und fahren Sie dann fort."),
                .tooManyRequests: ErrorText(title: "Zu viele Versuche",
                    happened: "In kurzer Zeit wurden zu viele Identitätsprüfungen gestartet.",
                    next: "Bitte warten Sie eine Minute und versuchen Sie es dann erneut."),
                .busy: ErrorText(title: "Dienst ausgelastet",
                    happened: "Für diesen Dienst laufen gerade zu viele Identitätsprüfungen.",
                    next: "Bitte warten Sie eine Minute und versuchen Sie es dann erneut."),
            ])
    }()

    static let french: PageText = {
        let startAgain = "Veuillez recommencer depuis le service qui vous a envoyé ici."
        return PageText(
            tagline: "Vérification d’identité avec swiyu",
            languageLabel: "Langue",
            verifyTitle: "Vérifier votre identité",
            requestedBy: "Demandé par",
            claimsHeading: "Ces informations de votre wallet swiyu seront transmises :",
            scanHint: "Scannez ce code QR avec l’application swiyu sur votre téléphone.",
            qrLabel: "Code QR pour le wallet swiyu",
            openWallet: "Ouvrir dans le wallet swiyu",
            sameDeviceHint: "Utilisez le bouton si l’application swiyu est sur cet appareil.",
            useDemoWallet: "Utiliser le wallet de démonstration",
            demoWalletHint: "Pour les démonstrations uniquement : un wallet de test intégré transmet une attestation d’exemple, sans téléphone.",
            timeLeft: "Temps restant :",
            waiting: "En attente de votre confirmation dans le wallet swiyu…",
            verified: "Confirmé. Retour au service…",
            failed: "La vérification a échoué. Retour au service…",
            expired: "Cette vérification a expiré. " + startAgain,
            completed: "Cette vérification est déjà terminée.",
            retrying: "Problème de connexion – nouvel essai…",
            statusUnavailable: "Cette vérification ne peut pas être poursuivie. " + startAgain,
            continueLink: "Confirmé dans le wallet ? Continuer",
            offerTitle: "Ajouter une attestation KyCH réutilisable à votre wallet",
            offerText: "Votre identité a été vérifiée. Scannez ce code avec votre wallet pour recevoir une attestation KyCH de ces données : la prochaine fois, vous pourrez la présenter au lieu de votre Beta-ID.",
            offerQRLabel: "Code QR de l’offre d’attestation KyCH",
            addToWallet: "Ajouter à mon wallet",
            continueToService: "Continuer vers le service",
            noScriptHint: "Cette page vérifie toutes les 10 secondes si vous avez confirmé.",
            doneTitle: "Vérification terminée",
            doneMessage: "Votre identité a été vérifiée. Vous pouvez fermer cette fenêtre.",
            tryAgain: "Réessayer",
            technicalDetails: "Détails techniques",
            claims: [
                "family_name": "Nom", "given_name": "Prénoms", "birth_date": "Date de naissance", "sex": "Sexe",
                "portrait": "Photo", "place_of_origin": "Lieu d’origine", "birth_place": "Lieu de naissance",
                "nationality": "Nationalité", "personal_administrative_number": "Numéro AVS",
                "age_over_16": "16 ans ou plus", "age_over_18": "18 ans ou plus", "age_over_65": "65 ans ou plus",
                "age_birth_year": "Année de naissance", "document_number": "Numéro du document",
                "issuance_date": "Date d’émission", "expiry_date": "Date d’expiration",
                "issuing_authority": "Autorité de délivrance", "issuing_country": "Pays de délivrance",
                "verification_type": "Type de vérification d’identité",
                "verification_organization": "Organisme qui a vérifié l’identité",
                "reference_id_type": "Type de document de référence",
                "reference_id_expiry_date": "Date d’expiration du document de référence",
                "additional_person_info": "Informations personnelles supplémentaires",
            ],
            errors: [
                .invalidRequest: ErrorText(title: "Requête invalide",
                    happened: "Le lien qui vous a mené ici est incomplet ou a été modifié.", next: startAgain),
                .unknownLink: ErrorText(title: "Lien de vérification inconnu",
                    happened: "Ce lien de vérification est inconnu ou n’est plus valable.", next: startAgain),
                .unknownClient: ErrorText(title: "Service inconnu",
                    happened: "Le service qui vous a envoyé ici n’est pas enregistré pour la vérification d’identité.",
                    next: "Veuillez contacter ce service."),
                .invalidRedirect: ErrorText(title: "Adresse de retour invalide",
                    happened: "L’adresse de retour de cette requête n’est pas celle enregistrée pour le service ; vous ne pouvez donc pas y être renvoyé en toute sécurité.",
                    next: startAgain + " Si le problème persiste, contactez ce service."),
                .expired: ErrorText(title: "Vérification expirée",
                    happened: "Le délai prévu pour cette vérification est écoulé.", next: startAgain),
                .finished: ErrorText(title: "Vérification déjà terminée",
                    happened: "Cette vérification est déjà terminée et ne peut pas être réutilisée.",
                    next: "Si vous devez encore vérifier votre identité, recommencez depuis le service qui vous a envoyé ici."),
                .verifierDown: ErrorText(title: "Service de vérification indisponible",
                    happened: "Le service de vérification d’identité est injoignable pour le moment.",
                    next: "Veuillez patienter un instant, puis réessayer."),
                .internalError: ErrorText(title: "Une erreur s’est produite",
                    happened: "Une erreur inattendue s’est produite de notre côté.", next: "Veuillez réessayer dans un instant."),
                .unknownVerification: ErrorText(title: "Vérification inconnue",
                    happened: "Cette vérification nous est inconnue.", next: startAgain),
                .differentBrowser: ErrorText(title: "Autre navigateur",
                    happened: "Cette vérification a été commencée dans un autre navigateur ou une autre application.",
                    next: "Veuillez la terminer dans le navigateur où vous l’avez commencée, ou recommencer depuis le service qui vous a envoyé ici."),
                .notVerifiedYet: ErrorText(title: "Pas encore confirmé",
                    happened: "Vous n’avez pas encore confirmé la demande dans votre wallet swiyu.",
                    next: "Revenez à la page précédente, confirmez dans votre wallet swiyu, puis continuez."),
                .tooManyRequests: ErrorText(title: "Trop de tentatives",
                    happened: "Trop de vérifications d’identité ont été lancées en peu de temps.",
                    next: "Veuillez patienter une minute, puis réessayer."),
                .busy: ErrorText(title: "Service surchargé",
                    happened: "Trop de vérifications d’identité sont en cours pour ce service.",
                    next: "Veuillez patienter une minute, puis réessayer."),
            ])
    }()

    static let italian: PageText = {
        let startAgain = "Ricominci dal servizio che l’ha indirizzata qui."
        return PageText(
            tagline: "Verifica dell’identità con swiyu",
            languageLabel: "Lingua",
            verifyTitle: "Verifica dell’identità",
            requestedBy: "Richiesto da",
            claimsHeading: "Questi dati del suo wallet swiyu verranno trasmessi:",
            scanHint: "Scansioni questo codice QR con l’app swiyu sul suo telefono.",
            qrLabel: "Codice QR per il wallet swiyu",
            openWallet: "Apri nel wallet swiyu",
            sameDeviceHint: "Usi il pulsante se l’app swiyu è su questo dispositivo.",
            useDemoWallet: "Usa il wallet dimostrativo",
            demoWalletHint: "Solo per dimostrazioni: un wallet di prova integrato trasmette una credenziale di esempio, senza telefono.",
            timeLeft: "Tempo rimanente:",
            waiting: "In attesa della sua conferma nel wallet swiyu…",
            verified: "Confermato. Ritorno al servizio…",
            failed: "La verifica non è riuscita. Ritorno al servizio…",
            expired: "Questa verifica è scaduta. " + startAgain,
            completed: "Questa verifica è già conclusa.",
            retrying: "Problema di connessione – nuovo tentativo…",
            statusUnavailable: "Questa verifica non può essere proseguita. " + startAgain,
            continueLink: "Confermato nel wallet? Continua",
            offerTitle: "Aggiungi al tuo wallet un’attestazione KyCH riutilizzabile",
            offerText: "La tua identità è stata verificata. Scansiona questo codice con il tuo wallet per ricevere un’attestazione KyCH di questi dati: la prossima volta potrai presentarla al posto della tua Beta-ID.",
            offerQRLabel: "Codice QR dell’offerta di attestazione KyCH",
            addToWallet: "Aggiungi al mio wallet",
            continueToService: "Continua verso il servizio",
            noScriptHint: "Questa pagina controlla ogni 10 secondi se ha confermato.",
            doneTitle: "Verifica completata",
            doneMessage: "La sua identità è stata verificata. Può chiudere questa finestra.",
            tryAgain: "Riprova",
            technicalDetails: "Dettagli tecnici",
            claims: [
                "family_name": "Cognome", "given_name": "Nomi", "birth_date": "Data di nascita", "sex": "Sesso",
                "portrait": "Foto", "place_of_origin": "Luogo di attinenza", "birth_place": "Luogo di nascita",
                "nationality": "Cittadinanza", "personal_administrative_number": "Numero AVS",
                "age_over_16": "Almeno 16 anni", "age_over_18": "Almeno 18 anni", "age_over_65": "Almeno 65 anni",
                "age_birth_year": "Anno di nascita", "document_number": "Numero del documento",
                "issuance_date": "Data di rilascio", "expiry_date": "Data di scadenza",
                "issuing_authority": "Autorità di rilascio", "issuing_country": "Paese di rilascio",
                "verification_type": "Tipo di verifica dell’identità",
                "verification_organization": "Ente che ha verificato l’identità",
                "reference_id_type": "Tipo di documento di riferimento",
                "reference_id_expiry_date": "Data di scadenza del documento di riferimento",
                "additional_person_info": "Informazioni personali aggiuntive",
            ],
            errors: [
                .invalidRequest: ErrorText(title: "Richiesta non valida",
                    happened: "Il link che l’ha portata qui è incompleto o è stato modificato.", next: startAgain),
                .unknownLink: ErrorText(title: "Link di verifica sconosciuto",
                    happened: "Questo link di verifica è sconosciuto o non è più valido.", next: startAgain),
                .unknownClient: ErrorText(title: "Servizio sconosciuto",
                    happened: "Il servizio che l’ha indirizzata qui non è registrato per la verifica dell’identità.",
                    next: "Si rivolga a quel servizio."),
                .invalidRedirect: ErrorText(title: "Indirizzo di ritorno non valido",
                    happened: "L’indirizzo di ritorno di questa richiesta non è quello registrato per il servizio, quindi non può essere rimandata indietro in modo sicuro.",
                    next: startAgain + " Se il problema si ripete, si rivolga a quel servizio."),
                .expired: ErrorText(title: "Verifica scaduta",
                    happened: "Il tempo a disposizione per questa verifica è scaduto.", next: startAgain),
                .finished: ErrorText(title: "Verifica già conclusa",
                    happened: "Questa verifica è già stata conclusa e non può essere riutilizzata.",
                    next: "Se deve ancora verificare la sua identità, ricominci dal servizio che l’ha indirizzata qui."),
                .verifierDown: ErrorText(title: "Servizio di verifica non disponibile",
                    happened: "Il servizio di verifica dell’identità non è raggiungibile in questo momento.",
                    next: "Attenda un momento e riprovi."),
                .internalError: ErrorText(title: "Si è verificato un errore",
                    happened: "Si è verificato un errore imprevisto da parte nostra.", next: "Riprovi tra un momento."),
                .unknownVerification: ErrorText(title: "Verifica sconosciuta",
                    happened: "Questa verifica non ci è nota.", next: startAgain),
                .differentBrowser: ErrorText(title: "Browser diverso",
                    happened: "Questa verifica è stata avviata in un altro browser o in un’altra app.",
                    next: "La concluda nel browser in cui l’ha avviata, oppure ricominci dal servizio che l’ha indirizzata qui."),
                .notVerifiedYet: ErrorText(title: "Non ancora confermato",
                    happened: "Non ha ancora confermato la richiesta nel suo wallet swiyu.",
                    next: "Torni alla pagina precedente, confermi nel wallet swiyu e poi prosegua."),
                .tooManyRequests: ErrorText(title: "Troppi tentativi",
                    happened: "Sono state avviate troppe verifiche d’identità in poco tempo.",
                    next: "Attenda un minuto e poi riprovi."),
                .busy: ErrorText(title: "Servizio sovraccarico",
                    happened: "Per questo servizio sono in corso troppe verifiche d’identità.",
                    next: "Attenda un minuto e poi riprovi."),
            ])
    }()
}
