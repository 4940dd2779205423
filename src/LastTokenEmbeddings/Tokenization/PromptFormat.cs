using System.Globalization;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// How a text is wrapped into the token ids fed to the model. Each format renders the text into a fixed prefix and
/// suffix, encodes the rendered string in one pass (so merges and SentencePiece's dummy-prefix space match Hugging
/// Face exactly) and adds special tokens as ids, never by tokenizing their text.
/// </summary>
/// <remarks>
/// <para>Formats (<c>enc</c> = the tokenizer without special tokens; <c>[BOS]</c> only where the tokenizer has one):</para>
/// <list type="bullet">
/// <item><see cref="Raw"/>: what <c>tokenizer(text)</c> gives: the tokenizer's own prefix (BOS for Mistral and Llama,
/// nothing for Qwen) + <c>enc(text)</c> + its own suffix (<c>&lt;|endoftext|&gt;</c> for Qwen3-Embedding's tokenizer).</item>
/// <item><see cref="MistralInstruct"/>: <c>BOS + enc("[INST] {text} [/INST]")</c> (the Mistral v0.1 chat template for one user turn).</item>
/// <item><see cref="E5Instruct(string?)"/>: queries <c>[BOS] + enc("Instruct: {instruction}\nQuery: {text}") + EOS</c>;
/// documents <c>[BOS] + enc(text) + EOS</c>.</item>
/// <item><see cref="Qwen3Embedding(string?)"/>: queries <c>enc("Instruct: {instruction}\nQuery:{text}") + &lt;|endoftext|&gt;</c>
/// (no space after <c>Query:</c>); documents <c>enc(text) + &lt;|endoftext|&gt;</c>.</item>
/// <item><see cref="FromPrompts(string, string, string)"/>: sentence-transformers' prompts: the tokenizer's own special
/// tokens around <c>enc(prompt + text)</c>.</item>
/// <item><see cref="Custom(string, bool, bool)"/>: <c>[BOS] + enc(template with {text} replaced) + [EOS]</c>.</item>
/// </list>
/// <para>
/// Truncation (<see cref="TruncationPolicy.Truncate"/>): when the prompt has more than <c>maxTokens</c> ids, the ids are
/// <c>leading ids + first n ids of enc(prefix + text) + suffixIds + trailing ids</c>, with n chosen so the total is
/// exactly <c>maxTokens</c>. <c>suffixIds</c> are the ids of the template text after <c>{text}</c> as they appear after
/// a word (for <see cref="MistralInstruct"/>: the four ids of <c>" [/INST]"</c>, 733 28748 16289 28793), so the closing
/// tag and a closing EOS stay the last tokens, which is what last-token pooling reads.
/// </para>
/// <para>
/// Input text: <see langword="null"/> throws <see cref="ArgumentNullException"/>; empty or whitespace-only text is
/// allowed and yields the format's fixed tokens (plus any whitespace tokens); lone surrogates are replaced with U+FFFD;
/// control characters are encoded as they are; very long texts (megabytes) are encoded in full, then truncated or rejected.
/// Templates should not contain special-token strings: special tokens are added as ids.
/// </para>
/// </remarks>
public abstract class PromptFormat
{
    /// <summary>The web-search retrieval instruction e5-mistral-7b-instruct and Qwen3-Embedding use when none is given.</summary>
    public const string DefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";

    private const string TextPlaceholder = "{text}";

    private const string QwenEndOfText = "<|endoftext|>";

    private static readonly PromptFormat RawFormat =
        new TemplateFormat("raw", null, _ => new Template("", "", Specials.TokenizerPrefix, Specials.TokenizerSuffix));

    private static readonly PromptFormat MistralInstructFormat =
        new TemplateFormat("mistral-instruct", null, _ => new Template("[INST] ", " [/INST]", Specials.Bos, Specials.None), requiresTextInstructionTags: true);

    private protected PromptFormat()
    {
    }

    /// <summary>What <c>tokenizer(text)</c> gives, special tokens included. Both roles are treated the same.</summary>
    public static PromptFormat Raw => RawFormat;

    /// <summary>
    /// The Mistral v0.1 instruct chat template for a single user turn: <c>&lt;s&gt;[INST] {text} [/INST]</c>, with BOS as an
    /// id. Both roles are treated the same. On truncation the user text is shortened and <c>" [/INST]"</c> is kept.
    /// Refused for vocabularies where <c>[INST]</c> is a control token (Mistral v0.3 and later), whose template differs.
    /// </summary>
    public static PromptFormat MistralInstruct => MistralInstructFormat;

    /// <summary>Short identifier: <c>raw</c>, <c>mistral-instruct</c>, <c>e5-instruct</c>, <c>qwen3-embedding</c>, <c>prompts</c> or <c>custom</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The task instruction of query prompts, for formats that have one; otherwise <see langword="null"/>.</summary>
    public abstract string? Instruction { get; }

    /// <summary>
    /// The e5-mistral-7b-instruct format: queries become <c>[BOS] + "Instruct: {instruction}\nQuery: {text}" + EOS</c>;
    /// documents become <c>[BOS] + text + EOS</c>. On truncation EOS is kept.
    /// </summary>
    /// <param name="instruction">The task instruction; <see langword="null"/> means <see cref="DefaultInstruction"/>.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException"><paramref name="instruction"/> is empty or whitespace.</exception>
    public static PromptFormat E5Instruct(string? instruction = null)
    {
        var task = CheckInstruction(instruction);
        return new TemplateFormat("e5-instruct", task, role => role == TextRole.Query
            ? new Template($"Instruct: {task}\nQuery: ", "", Specials.Bos, Specials.Eos)
            : new Template("", "", Specials.Bos, Specials.Eos));
    }

    /// <summary>
    /// The Qwen3-Embedding format: queries become <c>"Instruct: {instruction}\nQuery:{text}" + &lt;|endoftext|&gt;</c>
    /// (no space after <c>Query:</c>); documents become <c>text + &lt;|endoftext|&gt;</c>. No BOS. On truncation the
    /// closing <c>&lt;|endoftext|&gt;</c> is kept.
    /// </summary>
    /// <param name="instruction">The task instruction; <see langword="null"/> means <see cref="DefaultInstruction"/>.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException"><paramref name="instruction"/> is empty or whitespace.</exception>
    public static PromptFormat Qwen3Embedding(string? instruction = null)
    {
        var task = CheckInstruction(instruction);
        return new TemplateFormat("qwen3-embedding", task, role => role == TextRole.Query
            ? new Template($"Instruct: {task}\nQuery:", "", Specials.None, Specials.Named(QwenEndOfText))
            : new Template("", "", Specials.None, Specials.Named(QwenEndOfText)));
    }

    /// <summary>
    /// sentence-transformers' prompts (<c>config_sentence_transformers.json</c>): the role's prompt is prepended to the
    /// text and the whole is tokenized as <c>tokenizer(prompt + text)</c> does, the tokenizer's own special tokens included.
    /// </summary>
    /// <param name="queryPrompt">Prepended to queries (may be empty).</param>
    /// <param name="documentPrompt">Prepended to documents (may be empty).</param>
    /// <param name="name">The format's <see cref="Name"/>.</param>
    /// <returns>The format.</returns>
    public static PromptFormat FromPrompts(string queryPrompt, string documentPrompt, string name = "prompts")
    {
        ArgumentNullException.ThrowIfNull(queryPrompt);
        ArgumentNullException.ThrowIfNull(documentPrompt);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new TemplateFormat(name, null, role => new Template(role == TextRole.Query ? queryPrompt : documentPrompt, "", Specials.TokenizerPrefix, Specials.TokenizerSuffix));
    }

    /// <summary>
    /// A user-defined template such as <c>"query: {text}"</c>: the template with <c>{text}</c> replaced is encoded in one
    /// pass, with BOS and EOS added as ids when requested (and when the tokenizer has them). Both roles are treated the
    /// same. On truncation the text is shortened, and the template part after <c>{text}</c> and the EOS are kept.
    /// </summary>
    /// <param name="template">The template; must contain <c>{text}</c> exactly once.</param>
    /// <param name="addBos">Whether to prepend the BOS id.</param>
    /// <param name="addEos">Whether to append the EOS id.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="template"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="template"/> does not contain <c>{text}</c> exactly once.</exception>
    public static PromptFormat Custom(string template, bool addBos = true, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(template);
        var at = template.IndexOf(TextPlaceholder, StringComparison.Ordinal);
        if (at < 0)
            throw new ArgumentException($"The template must contain the placeholder {TextPlaceholder}.", nameof(template));
        if (template.IndexOf(TextPlaceholder, at + TextPlaceholder.Length, StringComparison.Ordinal) >= 0)
            throw new ArgumentException($"The template must contain the placeholder {TextPlaceholder} only once.", nameof(template));
        var t = new Template(template[..at], template[(at + TextPlaceholder.Length)..], addBos ? Specials.Bos : Specials.None, addEos ? Specials.Eos : Specials.None);
        return new TemplateFormat("custom", null, _ => t);
    }

    /// <summary>This format with another query instruction (for <see cref="E5Instruct(string?)"/> and <see cref="Qwen3Embedding(string?)"/>).</summary>
    /// <param name="instruction">The task instruction.</param>
    /// <returns>The format with <paramref name="instruction"/>.</returns>
    /// <exception cref="InvalidOperationException">The format has no instruction.</exception>
    public PromptFormat WithInstruction(string instruction)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        return Name switch
        {
            "e5-instruct" => E5Instruct(instruction),
            "qwen3-embedding" => Qwen3Embedding(instruction),
            _ => throw new InvalidOperationException($"The '{Name}' prompt format has no instruction to replace."),
        };
    }

    /// <summary>
    /// Number of ids the format adds around the text for <paramref name="role"/> (special tokens, prefix and suffix tokens);
    /// <c>maxTokens</c> passed to <see cref="BuildIds(ModelTokenizer, string, TextRole, int, TruncationPolicy)"/> must be at least this plus one.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="role">Query or document.</param>
    /// <returns>The fixed token count.</returns>
    /// <exception cref="InvalidOperationException">The format needs a special token the tokenizer lacks.</exception>
    public int GetFixedTokenCount(ModelTokenizer tokenizer, TextRole role)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var t = GetTemplate(CheckRole(role));
        CheckTokenizer(tokenizer);
        return FixedTokenCount(tokenizer, t);
    }

    /// <summary>
    /// Builds the model input ids for <paramref name="text"/>. See the class remarks for the layout of each format,
    /// the input-text rules and the exact truncation behaviour.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="text">The text to embed.</param>
    /// <param name="role">Query or document (asymmetric formats such as <see cref="E5Instruct(string?)"/> distinguish them).</param>
    /// <param name="maxTokens">Maximum number of ids, special and format tokens included.</param>
    /// <param name="truncation">What to do when the prompt has more than <paramref name="maxTokens"/> ids.</param>
    /// <returns>The ids; never longer than <paramref name="maxTokens"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizer"/> or <paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="maxTokens"/> is smaller than <see cref="GetFixedTokenCount"/> + 1, or <paramref name="role"/> or
    /// <paramref name="truncation"/> is not a defined value.
    /// </exception>
    /// <exception cref="InputTooLongException">The prompt is too long and <paramref name="truncation"/> is <see cref="TruncationPolicy.Throw"/>.</exception>
    /// <exception cref="InvalidOperationException">The format needs a special token the tokenizer lacks, or does not fit its vocabulary.</exception>
    public int[] BuildIds(ModelTokenizer tokenizer, string text, TextRole role, int maxTokens, TruncationPolicy truncation) =>
        BuildIds(tokenizer, text, role, maxTokens, truncation, parseSpecialTokens: null, out _);

    /// <summary>As the public overload, with the special-token policy, also telling whether the text was cut to fit.</summary>
    internal int[] BuildIds(ModelTokenizer tokenizer, string text, TextRole role, int maxTokens, TruncationPolicy truncation, bool? parseSpecialTokens, out bool truncated) =>
        BuildIds(tokenizer, text, role, maxTokens, truncation, TruncationDirection.Right, parseSpecialTokens, out truncated);

    /// <summary>As the public overload, with the truncation direction and special-token policy, telling whether the text was cut.</summary>
    internal int[] BuildIds(ModelTokenizer tokenizer, string text, TextRole role, int maxTokens, TruncationPolicy truncation,
        TruncationDirection direction, bool? parseSpecialTokens, out bool truncated)
    {
        truncated = false;
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        var t = GetTemplate(CheckRole(role));
        if (truncation is not (TruncationPolicy.Truncate or TruncationPolicy.Throw))
            throw new ArgumentOutOfRangeException(nameof(truncation), truncation, "Unknown truncation policy.");
        CheckTokenizer(tokenizer);

        var fixedCount = FixedTokenCount(tokenizer, t);
        if (maxTokens < fixedCount + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens,
                string.Create(CultureInfo.InvariantCulture, $"The '{Name}' format needs {fixedCount} fixed tokens, so maxTokens must be at least {fixedCount + 1}."));
        }

        var clean = TextSanitizer.ReplaceLoneSurrogates(text);
        var leading = t.Leading.Resolve(tokenizer, Name);
        var trailing = t.Trailing.Resolve(tokenizer, Name);
        var body = tokenizer.EncodeBody(t.Prefix + clean + t.Suffix, parseSpecialTokens);
        var total = leading.Length + body.Length + trailing.Length;
        if (total <= maxTokens)
            return [.. leading, .. body, .. trailing];
        if (truncation == TruncationPolicy.Throw)
            throw new InputTooLongException(total, maxTokens, nameof(text));

        truncated = true;
        var suffixIds = SuffixIds(tokenizer, t);
        if (direction == TruncationDirection.Left)
        {
            // Keep the prefix's tokens and the text's last ones: cut from the start of the text, never the template.
            var prefix = t.Prefix.TrimEnd();
            var prefixCount = prefix.Length == 0 ? 0 : Math.Min(tokenizer.EncodeTemplatePart(prefix).Length, body.Length);
            var textEnd = body.Length - (body.AsSpan().EndsWith(suffixIds) ? suffixIds.Length : 0);
            var keep = maxTokens - leading.Length - trailing.Length - suffixIds.Length - prefixCount;
            return [.. leading, .. body.AsSpan(0, prefixCount), .. body.AsSpan(textEnd - keep, keep), .. suffixIds, .. trailing];
        }
        var head = suffixIds.Length == 0 ? body : tokenizer.EncodeBody(t.Prefix + clean, parseSpecialTokens);
        var headCount = Math.Min(head.Length, maxTokens - leading.Length - trailing.Length - suffixIds.Length);
        return [.. leading, .. head.AsSpan(0, headCount), .. suffixIds, .. trailing];
    }

    /// <summary>Returns <see cref="Name"/>.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    private protected abstract Template GetTemplate(TextRole role);

    /// <summary>Refuses tokenizers the format cannot be spelled in.</summary>
    private protected abstract void CheckTokenizer(ModelTokenizer tokenizer);

    private static string CheckInstruction(string? instruction)
    {
        if (instruction is not null)
            ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        return instruction ?? DefaultInstruction;
    }

    private static TextRole CheckRole(TextRole role) =>
        role is TextRole.Query or TextRole.Document
            ? role
            : throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown text role.");

    private int FixedTokenCount(ModelTokenizer tokenizer, Template t)
    {
        var prefix = t.Prefix.TrimEnd();
        var prefixCount = prefix.Length == 0 ? 0 : tokenizer.EncodeTemplatePart(prefix).Length;
        return t.Leading.Resolve(tokenizer, Name).Length + prefixCount + SuffixIds(tokenizer, t).Length + t.Trailing.Resolve(tokenizer, Name).Length;
    }

    /// <summary>The suffix's ids as they appear after a word ("a" is used as the word).</summary>
    private static int[] SuffixIds(ModelTokenizer tokenizer, Template t)
    {
        if (t.Suffix.Length == 0)
            return [];
        var word = tokenizer.EncodeTemplatePart("a");
        var probe = tokenizer.EncodeTemplatePart("a" + t.Suffix);
        return probe.AsSpan().StartsWith(word) ? probe[word.Length..] : tokenizer.EncodeTemplatePart(t.Suffix);
    }

    /// <summary>Special tokens a template adds as ids around the encoded text.</summary>
    private protected sealed record Specials(string Kind, string? Token = null)
    {
        public static readonly Specials None = new("none");
        public static readonly Specials Bos = new("bos");
        public static readonly Specials Eos = new("eos");
        public static readonly Specials TokenizerPrefix = new("tokenizer-prefix");
        public static readonly Specials TokenizerSuffix = new("tokenizer-suffix");

        public static Specials Named(string token) => new("token", token);

        public int[] Resolve(ModelTokenizer tokenizer, string format) => Kind switch
        {
            "none" => [],
            // No BOS assumptions: tokenizers without one (Qwen) get none.
            "bos" => tokenizer.BosId is { } bos ? [bos] : [],
            "eos" => tokenizer.EosId is { } eos ? [eos]
                : throw new InvalidOperationException($"The '{format}' prompt format appends EOS, but the tokenizer ({tokenizer.SourcePath}) declares no EOS token."),
            "tokenizer-prefix" => [.. tokenizer.PrefixIds],
            "tokenizer-suffix" => [.. tokenizer.SuffixIds],
            _ => tokenizer.TokenToId(Token!) is { } id ? [id]
                : throw new InvalidOperationException($"The '{format}' prompt format ends with {Token}, which the tokenizer ({tokenizer.SourcePath}) does not have."),
        };
    }

    private protected readonly record struct Template(string Prefix, string Suffix, Specials Leading, Specials Trailing);

    private sealed class TemplateFormat(string name, string? instruction, Func<TextRole, Template> templates, bool requiresTextInstructionTags = false) : PromptFormat
    {
        private readonly Template query = templates(TextRole.Query);
        private readonly Template document = templates(TextRole.Document);

        public override string Name => name;

        public override string? Instruction => instruction;

        private protected override Template GetTemplate(TextRole role) => role == TextRole.Document ? document : query;

        private protected override void CheckTokenizer(ModelTokenizer tokenizer)
        {
            // Mistral v0.3+ vocabularies make [INST]/[/INST] control tokens; spelling them as text would feed the
            // model a prompt it never saw in training.
            if (requiresTextInstructionTags && tokenizer.TokenToId("[INST]") is { } id && tokenizer.IsSpecial(id))
            {
                throw new InvalidOperationException(
                    $"The '{name}' prompt format spells [INST] as text (Mistral v0.1), but this vocabulary ({tokenizer.SourcePath}) has [INST] as control token {id} (Mistral v0.3 or later); use the model's own chat template ids instead.");
            }
        }
    }
}
