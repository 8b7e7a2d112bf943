// A form submitted twice would act twice: its buttons are disabled once it is sent.
document.addEventListener("submit", (event) => {
  for (const button of event.target.querySelectorAll("button")) button.disabled = true;
});
