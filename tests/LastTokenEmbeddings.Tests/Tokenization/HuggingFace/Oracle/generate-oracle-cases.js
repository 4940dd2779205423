// Generates oracle-cases.json: ids and decoded strings computed by the Hugging Face tokenizers library itself
// (the Rust crate through its official Node binding), for the fixtures' tokenizer.json files and for small
// synthetic tokenizer.json files that exercise one feature each. The C# tests compare against this file;
// nothing here runs during the tests.
//
//   npm install tokenizers@0.23.2 && node generate-oracle-cases.js /path/to/tests/fixtures > oracle-cases.json
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const path = require('path');

const fixtures = process.argv[2];

// GPT-2's byte <-> printable character table.
const byteChar = (() => {
  const printable = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) map[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  return map;
})();
const bl = (s) => [...Buffer.from(s, 'utf8')].map((b) => byteChar[b]).join('');

// A byte-level vocabulary (the 256 byte characters) plus left-to-right merges building each word.
function byteLevelModel(words, options = {}) {
  const vocab = {};
  let id = 0;
  for (let b = 0; b < 256; b++) vocab[byteChar[b]] = id++;
  const merges = [];
  for (const word of words) {
    const chars = [...bl(word)];
    let current = chars[0];
    for (let i = 1; i < chars.length; i++) {
      const next = current + chars[i];
      if (!(next in vocab)) {
        merges.push([current, chars[i]]);
        vocab[next] = id++;
      }
      current = next;
    }
  }
  for (const extra of options.extraTokens || []) if (!(extra in vocab)) vocab[extra] = id++;
  return {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: !!options.ignoreMerges, vocab,
    merges: options.legacyMerges ? ['#version: 0.2', ...merges.map((m) => m.join(' '))] : merges,
  };
}

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, optionally the 256 byte tokens, characters, merges.
function pieceModel(words, options = {}) {
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let id = 3;
  if (options.byteFallback) {
    for (let b = 0; b < 256; b++) {
      if (options.bytes && !options.bytes.includes(b)) continue;
      vocab['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>'] = id++;
    }
  }
  for (const c of '▁abcdefghijklmnopqrstuvwxyzH.,!') vocab[c] = id++;
  const merges = [];
  for (const word of words) {
    const chars = [...word];
    let current = chars[0];
    for (let i = 1; i < chars.length; i++) {
      const next = current + chars[i];
      if (!(next in vocab)) {
        merges.push(current + ' ' + chars[i]);
        vocab[next] = id++;
      }
      current = next;
    }
  }
  return {
    type: 'BPE', dropout: null, unk_token: options.noUnk ? null : '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: options.fuseUnk !== false, byte_fallback: !!options.byteFallback, ignore_merges: false, vocab, merges,
  };
}

const added = (id, content, flags = {}) => ({
  id, content, single_word: !!flags.single_word, lstrip: !!flags.lstrip, rstrip: !!flags.rstrip,
  normalized: !!flags.normalized, special: flags.special !== false,
});
const byteLevelPre = (addPrefixSpace, useRegex) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: false, use_regex: useRegex });
const byteLevelDecoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
const spDecoder = {
  type: 'Sequence', decoders: [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
};
const tokenizerJson = (parts) => ({
  version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null,
  post_processor: null, decoder: null, ...parts,
});

const words = ['hello', ' hello', ' world', 'world', 'he', 'll', ' the', 'the', ' ', '  ', '    ', 'ab', 'abc', '12', '-', '--', 'a-b'];
const bytesModel = byteLevelModel(words);
const bytesCount = Object.keys(bytesModel.vocab).length;
const commonTexts = [
  'hello world', ' hello  world ', 'Hello, World!', 'the-the--the', 'a,b;;c,;d', 'ab12cd345e', '', ' ', '   ',
  'naïve café', '鎭 🦙 x', 'x\n\ny\r\n', '\tindent', 'a-b-c', '-leading and trailing-',
];

const synthetic = [
  {
    name: 'gpt2-style ByteLevel with regex and prefix space, added tokens',
    tokenizer: tokenizerJson({
      added_tokens: [added(bytesCount, '<|endoftext|>'), added(bytesCount + 1, '<pad>')],
      pre_tokenizer: byteLevelPre(true, true), post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: [...commonTexts, 'hello<|endoftext|>world', '<|endoftext|> hello', 'a <pad>b<pad> c', "it's I'M we'LL"],
  },
  ...['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].flatMap((behavior) => [false, true].map((invert) => ({
    name: `Split String "-" ${behavior}${invert ? ' inverted' : ''}`,
    tokenizer: tokenizerJson({
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: '-' }, behavior, invert }, byteLevelPre(false, false)] },
      decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: ['the-the--the', '-a-b-', '---', 'no dash', 'a-b-c'],
  }))),
  ...['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].flatMap((behavior) => [false, true].map((invert) => ({
    name: `Split Regex digits ${behavior}${invert ? ' inverted' : ''}`,
    tokenizer: tokenizerJson({
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '\\p{N}' }, behavior, invert }, byteLevelPre(false, false)] },
      decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: ['ab12cd345e', '12', 'x9', '9x', 'abc', '٣٤ and ½ and 𝟙𝟚'],
  }))),
  {
    name: 'Split with a Llama-3 style regex (lookahead, case-insensitive group, \\p{N}{1,3})',
    tokenizer: tokenizerJson({
      pre_tokenizer: {
        type: 'Sequence', pretokenizers: [
          { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
          byteLevelPre(false, false)],
      },
      decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: [...commonTexts, "IT'S it'S it'ſ", '1234567 89', '𝐀𝐁𝐂 𠀀𠀁 x', '  \n\n  x  ', "we'RE'VE"],
  },
  // Removed: the ids show exactly which characters the pattern matched. Oniguruma's \w (it takes ½ and Ⅻ but
  // not ①) and its case folding (ſ and ß fold in some constructs and not in others) cannot be reproduced with
  // .NET's regex engine; the C# reader refuses such patterns ("refused" below) and these cases document why.
  ...[['\\w+', true], ['[\\w\']+', true], ['\\d+|\\s+', false], ['(?i:sk|st|ss)+', true], ['(?i)[a-z]+', true], ['^ab|cd$', false], ['.+', false]].map(([regex, refused]) => ({
    name: `Split Regex ${regex} Removed`, refused,
    tokenizer: tokenizerJson({
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Removed', invert: false }, byteLevelPre(false, false)] },
      decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: ['नमस्ते दुनिया', 'x½Ⅻ①y', 'a\u20ddb c\u0301d', "don't stop_it", '٣٤ 12 ３', 'SK sk ſK ſk \u212A Sſ ss ß ẞ', 'İı iI', 'ab\ncd\nab cd', 'x\r\ny\n'],
  })),
  {
    name: 'added tokens with lstrip, rstrip, single_word, normalized (Lowercase normalizer)',
    tokenizer: tokenizerJson({
      added_tokens: [
        added(bytesCount, '<L>', { lstrip: true }), added(bytesCount + 1, '<R>', { rstrip: true }),
        added(bytesCount + 2, '<LR>', { lstrip: true, rstrip: true }), added(bytesCount + 3, 'word', { single_word: true, special: false }),
        added(bytesCount + 4, 'Norm', { normalized: true, special: false }), added(bytesCount + 5, '<s>'),
        added(bytesCount + 6, '<s>x', { special: false }),
      ],
      normalizer: { type: 'Lowercase' }, pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: ['a <L> b', 'a   <L>b', 'a<R>   b', 'a  <LR>  b', '<L><L>  <R>  <R>', 'word words sword word.', '_word word_', 'wörd word9',
      'NORM norm Norm', 'Norms', '<s>x <s> <S>', 'hello <LR><L> world', 'mañana word', '\u00a0<L>\u00a0'],
  },
  ...[['always', true], ['first', true], ['first', false], ['never', true]].map(([scheme, split]) => ({
    name: `Metaspace prepend_scheme ${scheme} split ${split}, byte fallback`,
    tokenizer: tokenizerJson({
      added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split },
      post_processor: {
        type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split },
      model: pieceModel(['▁hello', '▁world', '▁the', '▁▁', '▁▁▁▁', 'ab', 'hello'], { byteFallback: true }),
    }),
    texts: ['hello world', ' hello  world', 'Hello', '<s>hello</s> world', 'the</s>hello', 'é 🦙', 'x\ny', '', '   '],
  })),
  ...[true, false].map((fuse) => ({
    name: `Prepend+Replace normalizer, unk without byte fallback, fuse_unk ${fuse}`,
    tokenizer: tokenizerJson({
      added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      decoder: spDecoder, model: pieceModel(['▁hello', '▁world', '▁▁'], { fuseUnk: fuse }),
    }),
    texts: ['hello world', 'hello ÀÉÎ world', 'aÀbÉÉc', '🦙🦙 x', 'x</s>y', '  two'],
  })),
  ...[true, false].map((fuse) => ({
    name: `byte fallback with missing byte tokens falls back to unk, fuse_unk ${fuse}`,
    tokenizer: tokenizerJson({
      added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      decoder: spDecoder, model: pieceModel(['▁hello'], { byteFallback: true, bytes: [0xC3, 0xA9, 0xBC], fuseUnk: fuse }),
    }),
    texts: ['€é', 'é€€é', 'hello €€ ü é', '€', 'ñé'],
  })),
  (() => {
    const model = pieceModel(['▁hello', '▁a', 'ab'], { byteFallback: true });
    const count = Object.keys(model.vocab).length;
    return {
      name: 'normalized added tokens under a Prepend normalizer',
      tokenizer: tokenizerJson({
        added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>'), added(count, '<n>', { normalized: true, special: false }),
          added(count + 1, '▁x', { normalized: true, special: true, lstrip: true }), added(model.vocab.y, 'y', { normalized: true, special: false, single_word: true })],
        normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
        decoder: spDecoder, model,
      }),
      texts: ['a<n>b', '<n>', ' <n> a', 'a </s><n>', 'x hello x', 'y ay y', '▁x x'],
    };
  })(),
  {
    name: 'no unk_token and no byte fallback: unknown characters vanish',
    tokenizer: tokenizerJson({ pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, model: pieceModel(['▁hello'], { noUnk: true }) }),
    texts: ['hello ÀÉ world', 'ÀÀÀ', 'aÀb'],
  },
  {
    name: 'continuing_subword_prefix and end_of_word_suffix with BPEDecoder',
    tokenizer: tokenizerJson({
      pre_tokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'Removed', invert: false },
      decoder: { type: 'BPEDecoder', suffix: '</w>' },
      model: {
        type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: '##', end_of_word_suffix: '</w>', fuse_unk: false,
        byte_fallback: false, ignore_merges: false,
        vocab: { '[UNK]': 0, a: 1, b: 2, c: 3, '##a': 4, '##b': 5, '##c': 6, 'a</w>': 7, 'b</w>': 8, 'c</w>': 9, '##a</w>': 10, '##b</w>': 11, '##c</w>': 12, ab: 13, 'abc</w>': 14, 'ab</w>': 15, 'ca</w>': 16 },
        merges: [['a', '##b'], ['ab', '##c</w>'], ['a', '##b</w>'], ['c', '##a</w>']],
      },
    }),
    texts: ['abc ab ca a', 'abcabc', 'cab x b'],
  },
  ...[true, false].map((ignore) => ({
    name: `ignore_merges ${ignore}`,
    tokenizer: tokenizerJson({
      pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder,
      model: byteLevelModel(words, { ignoreMerges: ignore, extraTokens: [bl('xyz'), bl(' xyz'), bl('hel')] }),
    }),
    texts: ['xyz hello xyz', 'xyzxyz', 'hel help'],
  })),
  {
    name: 'merges as "a b" strings with a #version line',
    tokenizer: tokenizerJson({ pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: byteLevelModel(words, { legacyMerges: true }) }),
    texts: commonTexts,
  },
  {
    name: 'normalizers: Strip, Replace regex, NFKC, Lowercase',
    tokenizer: tokenizerJson({
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Strip', strip_left: true, strip_right: true }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'NFKC' }, { type: 'Lowercase' }] },
      pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: bytesModel,
    }),
    texts: ['  Hello   World  ', 'ﬁ ① ＨＥＬＬＯ', 'İstanbul ΣΑΣ', 'x\t\ty\n\nz', 'Ǆ ǅ'],
  },
  {
    name: 'post-processors: template with a two-id special token',
    tokenizer: tokenizerJson({
      added_tokens: [added(bytesCount, '[CLS]'), added(bytesCount + 1, '[SEP]')],
      pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: bytesModel,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: 'END', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [bytesCount], tokens: ['[CLS]'] }, END: { id: 'END', ids: [bytesCount + 1, 5], tokens: ['[SEP]', '&'] } },
      },
    }),
    texts: ['hello world', '[CLS] x [SEP]', ''],
  },
  ...['BertProcessing', 'RobertaProcessing'].map((type) => ({
    name: `post-processors: ${type}`,
    tokenizer: tokenizerJson({
      added_tokens: [added(bytesCount, '<cls>'), added(bytesCount + 1, '<sep>')],
      pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: bytesModel,
      post_processor: type === 'BertProcessing'
        ? { type, sep: ['<sep>', bytesCount + 1], cls: ['<cls>', bytesCount] }
        : { type, sep: ['<sep>', bytesCount + 1], cls: ['<cls>', bytesCount], trim_offsets: true, add_prefix_space: false },
    }),
    texts: ['hello world', 'a<sep>b'],
  })),
  {
    name: 'post-processors: Sequence of ByteLevel, a BertProcessing and a TemplateProcessing',
    tokenizer: tokenizerJson({
      added_tokens: [added(bytesCount, '<cls>'), added(bytesCount + 1, '<sep>'), added(bytesCount + 2, '<eos>')],
      pre_tokenizer: byteLevelPre(false, true), decoder: byteLevelDecoder, model: bytesModel,
      post_processor: {
        type: 'Sequence', processors: [
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
          { type: 'BertProcessing', sep: ['<sep>', bytesCount + 1], cls: ['<cls>', bytesCount] },
          {
            type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<eos>', type_id: 0 } }],
            pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { '<eos>': { id: '<eos>', ids: [bytesCount + 2], tokens: ['<eos>'] } },
          }],
      },
    }),
    texts: ['hello world'],
  },
  {
    name: 'decoders: ByteFallback with invalid bytes, Fuse, Strip',
    tokenizer: tokenizerJson({
      added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      decoder: spDecoder, model: pieceModel(['▁hello', '▁world'], { byteFallback: true }),
    }),
    texts: ['hello world', '🦙 é ü', '<s> hello</s>'],
    decodeIds: [[3, 70, 4], [1, 243, 162, 169, 156, 2], [0x41 + 3, 0x42 + 3, 250, 259, 1000000]],
  },
];

function textOf(item) {
  return typeof item === 'string' ? item : (item.prefix || '') + item.repeat.repeat(item.times) + (item.suffix || '');
}

async function run(tokenizer, items, decodeIds) {
  const cases = [];
  for (const item of items) {
    const text = textOf(item);
    const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const full = await tokenizer.encode(text, null, { addSpecialTokens: true });
    const ids = plain.getIds();
    const decoded = await tokenizer.decode(full.getIds(), true);
    const decodedWithSpecial = await tokenizer.decode(full.getIds(), false);
    // Long generated texts keep only whether decoding gives the text back, to keep this file small.
    cases.push(typeof item === 'string'
      ? { text: item, ids, withSpecialTokens: full.getIds(), decoded, decodedWithSpecial }
      : { text: item, ids, withSpecialTokens: full.getIds(), decodedIsText: decoded === text, decodedWithSpecialIsText: decodedWithSpecial === text });
  }
  const decodes = [];
  for (const ids of decodeIds || []) decodes.push({ ids, decoded: await tokenizer.decode(ids, true), decodedWithSpecial: await tokenizer.decode(ids, false) });
  return { cases, decodes };
}

const fixtureTexts = [
  'a<|im_end|>b', 'x</s>y', '<s>', ' <s> ', 'hello</s>', '<|endoftext|><|endoftext|>', '<tool_call>x</tool_call>', '<think>\n\n</think>',
  "it's IT'S it'S it'ſ we'LL", '𝐀𝐁𝐂 𠀀𠀁 x', '👍🏽 👨‍👩‍👧 🇩🇪', 'a\u0301\u0327b e\u0301', 'Å Å Å', 'ﬁ ① Ⅻ', '1234567 3.14159 ٣٤٥ ½',
  '\r\n\r\n  \n', '\u00a0\u3000x\u2028y\u0085z\u000bw', '\u200b\u200d\u2060', 'tab\there', 'Ünïcödé naïve café résumé',
  'こんにちは世界 안녕하세요 Привет мир مرحبا שלום नमस्ते', 'Line one\nLine two\ttabbed', '       ', '', ' ', 'a', "''''", '((()))',
  'https://example.com/path?q=1&x=2#frag', '{"key": [1, 2, 3]}', 'x'.repeat(300), 'ab '.repeat(200),
  { prefix: '', repeat: ' ', times: 20000, suffix: 'a' }, { prefix: 'a', repeat: '\u0301\u0327', times: 1000, suffix: 'b' },
  { prefix: '', repeat: '\u0300', times: 2000, suffix: '' }, { prefix: 'x', repeat: ' \n', times: 2000, suffix: 'y' },
  { prefix: '', repeat: '!?', times: 2000, suffix: '' }, { prefix: '', repeat: '𝐀', times: 500, suffix: '' },
];

// Seeded random texts mixing scripts, digits, punctuation, white space of every kind, emoji, combining marks
// and pieces of special tokens: a differential check of the regex, normalizer and BPE paths.
function randomTexts(count, seed) {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
  const pick = (items) => items[Math.floor(next() * items.length)];
  const alphabets = [
    'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', ' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0\u2009\u3000\u2028\u0085\u000b\u000c',
    ".,;:!?'\"()[]{}<>/\\|-_+=*&^%$#@~`", "'s 're 'LL 'S 'Ve", 'éèêëàâäôöûüçñßøåæœ', '\u0301\u0300\u0308\u0327\u0323\u20dd',
    'αβγδεζηθΑΒΓΔ', 'абвгдежзАБВГ', '一二三四五六七八九十中文字', 'あいうえおカキクケコ', '가나다라마바사', 'ابتثجحخ', 'אבגדהוז', 'अआइईउऊक्षि',
    '٠١٢٣٤٥٦٧٨٩', '½¾①②Ⅻ', '€$£¥₹', '🦙👍🏽🇩🇪👨‍👩‍👧🎉', '𝐀𝐁𝐂𝑥𝑦', '𠀀𠀁𠀂', '\ufeff\u200b\u200d', '<|im_end|>', '</s>', '<s>', '<|endoftext|>', '<think>',
  ];
  const texts = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    const pieces = 1 + Math.floor(next() * 12);
    for (let j = 0; j < pieces; j++) {
      const alphabet = [...pick(alphabets)];
      const length = alphabet.length > 6 && next() < 0.5 ? 1 + Math.floor(next() * 6) : 1;
      for (let k = 0; k < length; k++) text += alphabet.length > 8 ? pick(alphabet) : alphabet.join('');
    }
    texts.push(text);
  }
  return texts;
}

// The library's encode_special_tokens (transformers' split_special_tokens) is not exposed by the Node binding;
// for texts whose special-token matches overlap nothing else it equals special tokens that never match. Their
// content is replaced by text that never occurs (not removed: that would renumber the tokens after them).
function withoutSpecialAddedTokens(file) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const t of json.added_tokens) if (t.special) t.content = '\u0001never-' + t.id;
  return Tokenizer.fromString(JSON.stringify(json));
}
const splitSpecialTexts = ['a<|im_end|>b', 'x</s>y', '<s>hello</s>', '<|endoftext|> <|im_start|>user\nhi<|im_end|>', '<tool_call> </s> <think>'];

(async () => {
  const out = {
    generator: 'tokenizers (the Rust library through its Node binding) ' + require('tokenizers/package.json').version,
    fixtures: {}, models: {}, synthetic: [],
  };
  // tiny-qwen3-embedding and tiny-mistral share these vocabularies; their own references cover the rest.
  for (const name of ['tiny-qwen3', 'tiny-llama']) {
    const tokenizer = Tokenizer.fromFile(path.join(fixtures, name, 'tokenizer.json'));
    out.fixtures[name] = await run(tokenizer, [...fixtureTexts, ...randomTexts(250, name.length * 7919)], name.startsWith('tiny-qwen') ? [[151644, 872, 198, 151645, 151643]] : [[1, 22557, 1526, 28808, 2], [1, 243, 162, 169, 156]]);
  }
  out.splitSpecialTokens = {};
  for (const name of ['tiny-qwen3', 'tiny-llama']) {
    out.splitSpecialTokens[name] = (await run(withoutSpecialAddedTokens(path.join(fixtures, name, 'tokenizer.json')), splitSpecialTexts)).cases
      .map((c) => ({ text: c.text, ids: c.ids }));
  }
  for (const spec of synthetic) {
    const tokenizer = Tokenizer.fromString(JSON.stringify(spec.tokenizer));
    // Models shared by several cases are stored once; "model" then names the entry in "models".
    const modelJson = JSON.stringify(spec.tokenizer.model);
    let key = Object.keys(out.models).find((k) => JSON.stringify(out.models[k]) === modelJson);
    if (key === undefined) {
      key = 'model' + Object.keys(out.models).length;
      out.models[key] = spec.tokenizer.model;
    }
    out.synthetic.push({ name: spec.name, refused: !!spec.refused, tokenizer: { ...spec.tokenizer, model: key }, ...(await run(tokenizer, spec.texts, spec.decodeIds)) });
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
