/** Browser helpers for Gatehouse's passkey ceremonies (in progress). */
export {};
