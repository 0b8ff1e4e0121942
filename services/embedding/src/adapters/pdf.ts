import { extractText, getDocumentProxy } from 'unpdf';

/** A PDF's text, page after page (unpdf: Mozilla's pdf.js, server-side). */
export async function extractPdfText(pdf: Buffer): Promise<string> {
  const document = await getDocumentProxy(new Uint8Array(pdf));
  const { text } = await extractText(document, { mergePages: false });
  return (Array.isArray(text) ? text : [text]).join('\n\n');
}
