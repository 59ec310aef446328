// SAML IdP metadata import: the entity id, the HTTP-Redirect single sign-on URL and the signing
// certificate, read from an EntityDescriptor. Anything else in the document is ignored.
import { parseStringPromise, processors } from 'xml2js';
import { invalid } from '../common/errors.js';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface IdpMetadata {
  entityId?: string;
  ssoUrl?: string;
  certificate?: string;
}

/** xml2js output is untyped. */
type Node = any;
const all = (n: Node, name: string): Node[] => (n && Array.isArray(n[name]) ? n[name] : []);
const text = (n: Node): string | undefined => (typeof n === 'string' ? n : n?._)?.trim() || undefined;

export async function parseIdpMetadata(field: string, xml: string): Promise<IdpMetadata> {
  // No DTDs: entity expansion is refused before parsing.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw invalid(field, 'must not contain a DOCTYPE');
  let doc: Node;
  try {
    doc = await parseStringPromise(xml, { tagNameProcessors: [processors.stripPrefix], attrNameProcessors: [] });
  } catch {
    throw invalid(field, 'is not well-formed XML');
  }
  const entity = doc?.EntityDescriptor ?? all(doc?.EntitiesDescriptor, 'EntityDescriptor')[0];
  const idp = all(entity, 'IDPSSODescriptor')[0];
  if (!entity || !idp) throw invalid(field, 'has no EntityDescriptor with an IDPSSODescriptor');
  const sso = all(idp, 'SingleSignOnService').find((s) => s.$?.Binding === REDIRECT);
  if (!sso) throw invalid(field, 'has no SingleSignOnService with the HTTP-Redirect binding');
  const keys = all(idp, 'KeyDescriptor').filter((k) => (k.$?.use ?? 'signing') === 'signing');
  const cert = keys.map((k) => text(all(all(all(k, 'KeyInfo')[0], 'X509Data')[0], 'X509Certificate')[0])).find(Boolean);
  if (!cert) throw invalid(field, 'has no signing certificate');
  return { entityId: entity.$?.entityID, ssoUrl: sso.$?.Location, certificate: cert };
}
