import KychCore

/// The display names of the Beta-ID claims a KyCH attestation carries, in the four languages the issuer metadata
/// offers (OpenID4VCI 1.0 §12.2.4 `credential_metadata.claims[].display`): what a wallet shows beside each value.
/// A claim of `VC_CLAIMS` without an entry is listed by its path alone.
enum AttestationClaimNames {
    static let locales = ["en", "de", "fr", "it"]
    /// The attestation's own name in ``locales`` order.
    static let credential = ["KyCH attestation", "KyCH-Bestätigung", "Attestation KyCH", "Attestazione KyCH"]
    /// What the attestation is, in ``locales`` order (SD-JWT VC type metadata `description`).
    static let credentialDescription = [
        "Identity attributes verified by KyCH from a swiyu Beta-ID",
        "Von KyCH anhand einer swiyu Beta-ID geprüfte Personenangaben",
        "Données d'identité vérifiées par KyCH à partir d'une Beta-ID swiyu",
        "Dati d'identità verificati da KyCH a partire da una Beta-ID swiyu",
    ]

    /// Claim name → its names in ``locales`` order.
    static let names: [String: [String]] = [
        "family_name": ["Family name", "Nachname", "Nom", "Cognome"],
        "given_name": ["Given name", "Vorname", "Prénom", "Nome"],
        "birth_date": ["Date of birth", "Geburtsdatum", "Date de naissance", "Data di nascita"],
        "sex": ["Sex", "Geschlecht", "Sexe", "Sesso"],
        "portrait": ["Photo", "Foto", "Photo", "Foto"],
        "place_of_origin": ["Place of origin", "Heimatort", "Lieu d'origine", "Luogo di attinenza"],
        "birth_place": ["Place of birth", "Geburtsort", "Lieu de naissance", "Luogo di nascita"],
        "nationality": ["Nationality", "Staatsangehörigkeit", "Nationalité", "Nazionalità"],
        "personal_administrative_number": ["AHV number", "AHV-Nummer", "Numéro AVS", "Numero AVS"],
        "age_over_16": ["Aged 16 or over", "16 Jahre oder älter", "16 ans ou plus", "16 anni o più"],
        "age_over_18": ["Aged 18 or over", "18 Jahre oder älter", "18 ans ou plus", "18 anni o più"],
        "age_over_65": ["Aged 65 or over", "65 Jahre oder älter", "65 ans ou plus", "65 anni o più"],
        "age_birth_year": ["Year of birth", "Geburtsjahr", "Année de naissance", "Anno di nascita"],
        "document_number": ["Document number", "Ausweisnummer", "Numéro du document", "Numero del documento"],
        "issuance_date": ["Date of issue", "Ausstellungsdatum", "Date d'émission", "Data di rilascio"],
        "expiry_date": ["Expiry date", "Ablaufdatum", "Date d'expiration", "Data di scadenza"],
        "issuing_authority": ["Issuing authority", "Ausstellende Behörde", "Autorité de délivrance", "Autorità di rilascio"],
        "issuing_country": ["Issuing country", "Ausstellungsland", "Pays de délivrance", "Paese di rilascio"],
        "verification_type": ["Verification type", "Art der Prüfung", "Type de vérification", "Tipo di verifica"],
        "verification_organization": ["Verifying organisation", "Prüfende Organisation", "Organisation de vérification",
                                      "Organizzazione di verifica"],
        "reference_id_type": ["Reference document type", "Art des Referenzdokuments", "Type de document de référence",
                              "Tipo di documento di riferimento"],
        "reference_id_expiry_date": ["Reference document expiry", "Ablauf des Referenzdokuments", "Expiration du document de référence",
                                     "Scadenza del documento di riferimento"],
        "additional_person_info": ["Additional information", "Zusätzliche Angaben", "Informations complémentaires",
                                   "Informazioni supplementari"],
    ]

    /// The issuer metadata entry of `claim`: its path and, when known, its display names.
    static func entry(_ claim: String) -> JSON {
        var entry: [String: JSON] = ["path": [.string(claim)]]
        if let names = names[claim] { entry["display"] = display(names, as: "name") }
        return .object(entry)
    }

    /// The SD-JWT VC type metadata entry of `claim`: its path, `sd: always` (every claim is a disclosure) and, when
    /// known, its labels.
    static func typeMetadataEntry(_ claim: String) -> JSON {
        var entry: [String: JSON] = ["path": [.string(claim)], "sd": "always"]
        if let names = names[claim] { entry["display"] = display(names, as: "label") }
        return .object(entry)
    }

    /// `[{"locale": …, member: …}]` of `texts` in ``locales`` order.
    static func display(_ texts: [String], as member: String) -> JSON {
        .array(zip(texts, locales).map { text, locale in ["locale": .string(locale), member: .string(text)] })
    }
}
