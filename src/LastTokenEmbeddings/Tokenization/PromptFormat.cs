using System.Globalization;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// How a text is wrapped into the token ids fed to the model. Each format renders the text into a fixed prefix and
/// suffix, encodes the rendered string in one SentencePiece pass (dummy-prefix space included) and adds BOS/EOS as ids
/// (never by tokenizing <c>"&lt;s&gt;"</c>). This reproduces the Hugging Face tokenizer ids exactly.
/// </summary>
/// <remarks>
/// <para>Formats:</para>
/// <list type="bullet">
/// <item><see cref="Raw"/>: <c>BOS + encode(text)</c>.</item>
/// <item><see cref="MistralInstruct"/>: <c>BOS + encode("[INST] {text} [/INST]")</c> (the Mistral chat template for one user turn).</item>
/// <item><see cref="E5Instruct(string?)"/>: queries <c>BOS + encode("Instruct: {instruction}\nQuery: {text}") + EOS</c>;
/// documents <c>BOS + encode(text) + EOS</c>.</item>
/// <item><see cref="Custom(string, bool, bool)"/>: <c>[BOS] + encode(template with {text} replaced) + [EOS]</c>.</item>
/// </list>
/// <para>
/// Truncation (<see cref="TruncationPolicy.Truncate"/>): when the prompt has more than <c>maxTokens</c> ids, the ids are
/// <c>[BOS] + first n ids of encode(prefix + text) + suffixIds + [EOS]</c>, with n chosen so the total is exactly
/// <c>maxTokens</c>. <c>suffixIds</c> are the ids of the template text after <c>{text}</c> as they appear after a word
/// (for <see cref="MistralInstruct"/>: the four ids of <c>" [/INST]"</c>, 733 28748 16289 28793), so the closing
/// instruction tag and a required EOS stay the last tokens, which is what last-token pooling reads. For formats whose
/// text is at the end (<see cref="Raw"/>, <see cref="E5Instruct(string?)"/>) this is simply "keep the first
/// <c>maxTokens</c> (minus one when EOS is required) ids, then EOS".
/// </para>
/// <para>
/// Input text: <see langword="null"/> throws <see cref="ArgumentNullException"/>; empty or whitespace-only text is
/// allowed and yields the format's fixed tokens (plus any whitespace tokens); lone surrogates are replaced with U+FFFD;
/// control characters are encoded as they are; very long texts (megabytes) are encoded in full, then truncated or rejected.
/// </para>
/// </remarks>
public abstract class PromptFormat
{
    private const string TextPlaceholder = "{text}";

    private static readonly PromptFormat RawFormat = new TemplateFormat("raw", new Template("", "", AddBos: true, AddEos: false), null);

    private static readonly PromptFormat MistralInstructFormat =
        new TemplateFormat("mistral-instruct", new Template("[INST] ", " [/INST]", AddBos: true, AddEos: false), null);

    private protected PromptFormat()
    {
    }

    /// <summary>BOS followed by the text's ids; no EOS. Both roles are treated the same.</summary>
    public static PromptFormat Raw => RawFormat;

    /// <summary>
    /// The Mistral instruct chat template for a single user turn: <c>&lt;s&gt;[INST] {text} [/INST]</c>, with BOS as an id.
    /// Both roles are treated the same. On truncation the user text is shortened and <c>" [/INST]"</c> is kept.
    /// </summary>
    public static PromptFormat MistralInstruct => MistralInstructFormat;

    /// <summary>Short identifier: <c>raw</c>, <c>mistral-instruct</c>, <c>e5-instruct</c> or <c>custom</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The e5-mistral-7b-instruct format: queries become <c>BOS + "Instruct: {instruction}\nQuery: {text}" + EOS</c>;
    /// documents become <c>BOS + text + EOS</c>. On truncation EOS is kept.
    /// </summary>
    /// <param name="instruction">The task instruction; <see langword="null"/> means <see cref="Tokenization.E5Instruct.DefaultInstruction"/>.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException"><paramref name="instruction"/> is empty or whitespace.</exception>
    public static PromptFormat E5Instruct(string? instruction = null)
    {
        if (instruction is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        }

        string task = instruction ?? Tokenization.E5Instruct.DefaultInstruction;
        return new TemplateFormat(
            "e5-instruct",
            new Template($"Instruct: {task}\nQuery: ", "", AddBos: true, AddEos: true),
            new Template("", "", AddBos: true, AddEos: true));
    }

    /// <summary>
    /// A user-defined template such as <c>"query: {text}"</c>: the template with <c>{text}</c> replaced is encoded in one
    /// pass, with BOS and EOS added as ids when requested. Both roles are treated the same. On truncation the text is
    /// shortened, and the template part after <c>{text}</c> and the EOS (when requested) are kept.
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
        int at = template.IndexOf(TextPlaceholder, StringComparison.Ordinal);
        if (at < 0)
        {
            throw new ArgumentException($"The template must contain the placeholder {TextPlaceholder}.", nameof(template));
        }

        if (template.IndexOf(TextPlaceholder, at + TextPlaceholder.Length, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"The template must contain the placeholder {TextPlaceholder} only once.", nameof(template));
        }

        var t = new Template(template[..at], template[(at + TextPlaceholder.Length)..], addBos, addEos);
        return new TemplateFormat("custom", t, null);
    }

    /// <summary>
    /// Number of ids the format adds around the text for <paramref name="role"/> (BOS, EOS, prefix and suffix tokens);
    /// <c>maxTokens</c> passed to <see cref="BuildIds(MistralTokenizer, string, TextRole, int, TruncationPolicy)"/> must be at least this plus one.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="role">Query or document.</param>
    /// <returns>The fixed token count.</returns>
    public int GetFixedTokenCount(MistralTokenizer tokenizer, TextRole role)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return FixedTokenCount(tokenizer, GetTemplate(CheckRole(role)));
    }

    /// <summary>
    /// Builds the model input ids for <paramref name="text"/>. See the class remarks for the layout of each format,
    /// the input-text rules and the exact truncation behaviour.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="text">The text to embed.</param>
    /// <param name="role">Query or document (only <see cref="E5Instruct(string?)"/> distinguishes them).</param>
    /// <param name="maxTokens">Maximum number of ids, BOS/EOS and format tokens included.</param>
    /// <param name="truncation">What to do when the prompt has more than <paramref name="maxTokens"/> ids.</param>
    /// <returns>The ids; never longer than <paramref name="maxTokens"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizer"/> or <paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="maxTokens"/> is smaller than <see cref="GetFixedTokenCount"/> + 1, or <paramref name="role"/> or
    /// <paramref name="truncation"/> is not a defined value.
    /// </exception>
    /// <exception cref="InputTooLongException">The prompt is too long and <paramref name="truncation"/> is <see cref="TruncationPolicy.Throw"/>.</exception>
    public int[] BuildIds(MistralTokenizer tokenizer, string text, TextRole role, int maxTokens, TruncationPolicy truncation) =>
        BuildIds(tokenizer, text, role, maxTokens, truncation, out _);

    /// <summary>As the public overload, also telling whether the text was cut to fit.</summary>
    internal int[] BuildIds(MistralTokenizer tokenizer, string text, TextRole role, int maxTokens, TruncationPolicy truncation, out bool truncated)
    {
        truncated = false;
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        Template t = GetTemplate(CheckRole(role));
        if (truncation is not (TruncationPolicy.Truncate or TruncationPolicy.Throw))
        {
            throw new ArgumentOutOfRangeException(nameof(truncation), truncation, "Unknown truncation policy.");
        }

        int fixedCount = FixedTokenCount(tokenizer, t);
        if (maxTokens < fixedCount + 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(maxTokens),
                maxTokens,
                string.Create(CultureInfo.InvariantCulture, $"The '{Name}' format needs {fixedCount} fixed tokens, so maxTokens must be at least {fixedCount + 1}."));
        }

        string clean = TextSanitizer.ReplaceLoneSurrogates(text);
        int bos = t.AddBos ? 1 : 0;
        int eos = t.AddEos ? 1 : 0;
        int[] body = tokenizer.Encode(t.Prefix + clean + t.Suffix);
        int total = bos + body.Length + eos;
        if (total <= maxTokens)
        {
            return Assemble(tokenizer, t, body, body.Length, [], total);
        }

        if (truncation == TruncationPolicy.Throw)
        {
            throw new InputTooLongException(total, maxTokens, nameof(text));
        }

        truncated = true;
        int[] suffixIds = SuffixIds(tokenizer, t);
        int[] head = suffixIds.Length == 0 ? body : tokenizer.Encode(t.Prefix + clean);
        int headCount = Math.Min(head.Length, maxTokens - bos - eos - suffixIds.Length);
        return Assemble(tokenizer, t, head, headCount, suffixIds, bos + headCount + suffixIds.Length + eos);
    }

    /// <summary>Returns <see cref="Name"/>.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    private protected abstract Template GetTemplate(TextRole role);

    private static TextRole CheckRole(TextRole role) =>
        role is TextRole.Query or TextRole.Document
            ? role
            : throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown text role.");

    private static int[] Assemble(MistralTokenizer tokenizer, Template t, int[] head, int headCount, int[] suffixIds, int total)
    {
        var ids = new int[total];
        int at = 0;
        if (t.AddBos)
        {
            ids[at++] = tokenizer.BosId;
        }

        Array.Copy(head, 0, ids, at, headCount);
        at += headCount;
        Array.Copy(suffixIds, 0, ids, at, suffixIds.Length);
        at += suffixIds.Length;
        if (t.AddEos)
        {
            ids[at] = tokenizer.EosId;
        }

        return ids;
    }

    private static int FixedTokenCount(MistralTokenizer tokenizer, Template t)
    {
        string prefix = t.Prefix.TrimEnd();
        int prefixCount = prefix.Length == 0 ? 0 : tokenizer.EncodeTemplatePart(prefix).Length;
        return (t.AddBos ? 1 : 0) + prefixCount + SuffixIds(tokenizer, t).Length + (t.AddEos ? 1 : 0);
    }

    /// <summary>The suffix's ids as they appear after a word ("a" is used as the word).</summary>
    private static int[] SuffixIds(MistralTokenizer tokenizer, Template t)
    {
        if (t.Suffix.Length == 0)
        {
            return [];
        }

        int[] word = tokenizer.EncodeTemplatePart("a");
        int[] probe = tokenizer.EncodeTemplatePart("a" + t.Suffix);
        return probe.AsSpan().StartsWith(word) ? probe[word.Length..] : tokenizer.EncodeTemplatePart(t.Suffix);
    }

    private protected readonly record struct Template(string Prefix, string Suffix, bool AddBos, bool AddEos);

    private sealed class TemplateFormat(string name, Template query, Template? document) : PromptFormat
    {
        public override string Name => name;

        private protected override Template GetTemplate(TextRole role) =>
            role == TextRole.Document && document is { } d ? d : query;
    }
}
